/**
 * The change-feed follower: reads Orthanc's /changes from a cursor kept in the database and hands
 * each change to its handlers. It knows nothing about jobs or findings; the arrival handler advances
 * the cursor itself, inside the transaction that records what the change caused (exactly once).
 *
 * One follower per database: with several gateways on one database only the holder of the feed's
 * leadership polls (see `leadership` below); on SQLite (one process) it is always held.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/database.js';
import './migrations.js';
import { appendAudit } from '../audit/audit.js';
import { fetchChanges, type Change } from './pacs.js';
import type { OrthancClient } from '../orthanc/client.js';

export const FEED = 'orthanc';
const ACTOR = 'preread';
/** A study that fails this many polls in a row is given up (audited) so it cannot hold up every later arrival. */
export const FEED_GIVE_UP_AFTER = 5;

export async function readCursor(db: Kysely<DB>): Promise<number> {
  const cur = await db.selectFrom('preread_cursor').select('last_seq').where('feed', '=', FEED).executeTakeFirst();
  return cur?.last_seq ?? 0;
}

/** Called inside the transaction that records what a change caused, so the two commit together. */
export async function setCursor(db: Kysely<DB> | Transaction<DB>, seq: number): Promise<void> {
  const now = new Date().toISOString();
  await db
    .insertInto('preread_cursor')
    .values({ feed: FEED, last_seq: seq, updated_at: now })
    .onConflict((oc) => oc.column('feed').doUpdateSet({ last_seq: seq, updated_at: now }))
    .execute();
}

export interface FeedHandlers {
  /** Every change, first (AI SRs are read from StableSeries here); must not throw. */
  onChange(c: Change): Promise<void>;
  /** A stable study; advances the cursor to `seq` in its own transaction. Throwing retries it on the next poll. */
  onStableStudy(orthancId: string, seq: number): Promise<void>;
  /**
   * The page's new instances (Orthanc ids), before its StableStudy changes: the pre-read starts on
   * them. Must not throw (what it misses, the stable study's admission lists again).
   */
  onNewInstances?(orthancIds: string[]): Promise<void>;
}

export interface FeedDeps {
  db: Kysely<DB>;
  orthanc: OrthancClient;
  pollMs: number;
  log: (msg: string) => void;
  /**
   * Whether this process may follow the feed now (leader election on a shared database). Asked before
   * each poll; a process that is not the leader stays idle and asks again at the next poll.
   */
  leadership?: () => Promise<boolean>;
}

export class ChangeFeed {
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Polls this process made as the feed's leader (a follower makes none): for operators and tests. */
  polls = 0;
  /** Consecutive failures per change seq (in memory: a restart gives a failing study a fresh chance). */
  private readonly failures = new Map<number, number>();

  constructor(
    private readonly deps: FeedDeps,
    private readonly handlers: FeedHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pollIfLeader()
        .catch((e) => this.deps.log(`preread: change feed: ${(e as Error).message}`))
        .finally(() => {
          this.running = null;
          this.schedule(this.deps.pollMs);
        });
    }, delay);
  }

  private async pollIfLeader(): Promise<void> {
    if (this.deps.leadership && !(await this.deps.leadership())) return;
    this.polls++;
    await this.poll();
  }

  /** Reads the feed until it is drained. Exposed for tests and the bench. */
  async poll(): Promise<void> {
    const { db, orthanc } = this.deps;
    for (;;) {
      if (this.stopped) return;
      const since = await readCursor(db);
      const page = await fetchChanges(orthanc, since);
      let seq = since;
      const arrived = page.Changes.filter((c) => c.ChangeType === 'NewInstance').map((c) => c.ID);
      if (arrived.length && this.handlers.onNewInstances) await this.handlers.onNewInstances(arrived);
      for (const c of page.Changes) {
        if (this.stopped) return;
        await this.handlers.onChange(c);
        if (c.ChangeType === 'StableStudy') await this.stableStudy(c);
        seq = c.Seq;
      }
      // Changes nobody acts on: advance past them in one write.
      if (seq > since) await setCursor(db, seq);
      if (page.Done || page.Changes.length === 0) return;
    }
  }

  private async stableStudy(c: Change): Promise<void> {
    try {
      await this.handlers.onStableStudy(c.ID, c.Seq);
      this.failures.delete(c.Seq);
    } catch (e) {
      const n = (this.failures.get(c.Seq) ?? 0) + 1;
      this.failures.set(c.Seq, n);
      if (n < FEED_GIVE_UP_AFTER) throw e;
      this.failures.delete(c.Seq);
      const msg = (e as Error).message;
      await appendAudit(this.deps.db, { actor: ACTOR, action: 'preread-study-unreadable', outcome: 8, detail: { orthancStudy: c.ID, seq: c.Seq, error: msg.slice(0, 300) } });
      this.deps.log(`preread: giving up on Orthanc study ${c.ID} (change ${c.Seq}): ${msg}`);
      await setCursor(this.deps.db, c.Seq);
    }
  }
}
