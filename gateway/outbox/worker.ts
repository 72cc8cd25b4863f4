/**
 * Outbox worker: delivers due messages with exponential back-off and jitter.
 * Status: pending (never tried) -> sent (a try is in flight; survives a crash and is retried on restart)
 * -> acknowledged | failed (will retry at next_attempt_at) | dead (gave up: AR, refused, too many tries).
 * Per study and kind, messages go out in order (a final ORU never overtakes its preliminary).
 * Safe with N gateways on one database: a message is claimed in the database (see claim), never only
 * in memory, so each is tried by one gateway at a time.
 */
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../db/database.js';
import type { GatewayConfig } from '../config.js';
import { DeliveryError, deliverOru, deliverSr, deliverWebhook, MetadataCache, type DeliveryContext } from './deliver.js';
import type { OrthancClient } from '../orthanc/client.js';
import type { OutboxPayload } from './events.js';
import type { OutboxSettings } from './settings.js';
import type { OutboxTable } from './schema.js';
import './schema.js';
import { appendAudit, withAudit, type AuditEvent } from '../audit/audit.js';
import { dialectOf } from '../db/dialect.js';

const OPEN = ['pending', 'sent', 'failed'] as const;
type QueuedRow = Pick<Selectable<OutboxTable>, 'id' | 'kind' | 'study_uid'>;
/** How long a pass keeps following a queue it delivered from before handing back to a new pass. */
const FOLLOW_ON_MS = 2_000;

/** Exponential back-off with jitter: base * 2^(n-1), capped, times a random factor in [0.5, 1.5). */
export function backoffMs(attempt: number, s: Pick<OutboxSettings, 'baseDelayMs' | 'maxDelayMs'>, rand = Math.random): number {
  const exp = Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + rand()));
}

export class OutboxWorker {
  private timer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = true;
  private readonly inFlight = new Set<number>();
  /** Messages this gateway has claimed and is delivering: their leases are renewed (renewLeases). */
  private readonly claimedNow = new Set<number>();
  private pass: Promise<void> | null = null;
  private readonly ctx: DeliveryContext;
  /** What this gateway's worker did (tests across gateways, metrics): claims it won, and their outcomes. */
  readonly stats = { claimed: 0, acknowledged: 0, failed: 0, dead: 0 };
  /** Called after each acknowledged delivery with its kind and the time from enqueue to acknowledgement (metrics). */
  onDelivered: ((kind: string, latencyMs: number) => void) | null = null;
  /**
   * Deliveries of kinds another capability owns (gateway/external-ai: `external-ai`), by outbox kind:
   * the same durable rows, claims, leases and back-off; the handler resolves with a note or throws a DeliveryError.
   */
  readonly handlers = new Map<string, (payload: unknown, attempt: number) => Promise<string>>();

  constructor(readonly db: Kysely<DB>, config: GatewayConfig, readonly settings: OutboxSettings, orthanc: OrthancClient) {
    this.ctx = { db, config, settings, orthanc, cache: new MetadataCache() };
  }

  async start(): Promise<void> {
    // SQLite (one process): anything still 'sent' was in flight when the last process died, due now (same
    // UID / control id). PostgreSQL (N gateways): a 'sent' row may be another live gateway's delivery, so it
    // is left to its lease (next_attempt_at, renewed by the claimer while it delivers) to run out instead.
    if (dialectOf(this.db) === 'sqlite') await this.db.updateTable('outbox').set({ next_attempt_at: new Date(0).toISOString() }).where('status', '=', 'sent').execute();
    this.stopped = false;
    const every = Math.max(100, Math.floor(this.settings.leaseMs / 3));
    this.leaseTimer = setInterval(() => void this.renewLeases().catch(() => {}), every);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.pass;
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
  }

  /** Extends the lease of every message this gateway is delivering now (they stay 'sent', not due). */
  private async renewLeases(): Promise<void> {
    const ids = [...this.claimedNow];
    if (!ids.length) return;
    await this.db.updateTable('outbox').set({ next_attempt_at: new Date(Date.now() + this.settings.leaseMs).toISOString() }).where('id', 'in', ids).where('status', '=', 'sent').execute();
  }

  /** Run a pass soon (after an enqueue, or from a test). */
  kick(): void {
    if (!this.stopped) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) return this.schedule(this.settings.pollMs);
      let tried = 0;
      this.pass = this.runOnce()
        .then((n) => void (tried = n))
        .catch(() => {})
        .finally(() => {
          this.pass = null;
          // A pass delivers only the head of each (study, kind) queue; when it did work, the next heads
          // are due now, so the next pass starts at once instead of a poll later (bench:scale: the poll
          // gap, not delivery, bounded throughput). Nothing due: wait for the poll (or a kick).
          this.schedule(tried > 0 ? 0 : this.settings.pollMs);
        });
    }, ms);
  }

  /** One pass: deliver every due message that heads its (study, kind) queue. Returns the number tried. */
  async runOnce(): Promise<number> {
    this.running = true;
    try {
      const now = new Date().toISOString();
      // The head of each (study, kind) queue; webhooks are independent of each other.
      const heads = await this.db
        .selectFrom('outbox')
        .select((eb) => [eb.fn.min('id').as('id')])
        .where('status', 'in', OPEN)
        .where('kind', '!=', 'webhook')
        .groupBy(['study_uid', 'kind'])
        .execute();
      const headIds = heads.map((h) => Number(h.id)).filter((id) => !this.inFlight.has(id));
      const due = headIds.length
        ? await this.db.selectFrom('outbox').selectAll().where('id', 'in', headIds).where('next_attempt_at', '<=', now).orderBy('id').limit(200).execute()
        : [];
      const hooks = await this.db.selectFrom('outbox').selectAll().where('kind', '=', 'webhook').where('status', 'in', OPEN).where('next_attempt_at', '<=', now).orderBy('id').limit(50).execute();
      const todo: QueuedRow[] = [...due, ...hooks.filter((h) => !this.inFlight.has(h.id))];
      const started = Date.now();
      let i = 0;
      const lane = async () => {
        while (i < todo.length && !this.stopped) {
          const row = todo[i++];
          const outcome = await this.deliverOne(row.id);
          // The lane goes on with the next message of the same (study, kind) queue, now its head, instead
          // of waiting for the pass's slowest delivery and a new pass (bench:outbox: few studies with many
          // sign-offs drained one message per queue per pass). Bounded in time, so that queues that
          // became due meanwhile get their turn at the next pass.
          if (outcome === 'acknowledged' && row.kind !== 'webhook' && Date.now() - started < FOLLOW_ON_MS) {
            const next = await this.nextInQueue(row);
            if (next) todo.push(next);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, this.settings.concurrency) }, lane));
      return todo.length;
    } finally {
      this.running = false;
    }
  }

  /** The message after `row` in its (study, kind) queue when it is open and due now. */
  private async nextInQueue(row: QueuedRow): Promise<QueuedRow | undefined> {
    if (row.study_uid === null) return undefined;
    const next = await this.db
      .selectFrom('outbox')
      .select(['id', 'kind', 'study_uid', 'next_attempt_at'])
      .where('study_uid', '=', row.study_uid)
      .where('kind', '=', row.kind)
      .where('status', 'in', OPEN)
      .where('id', '>', row.id)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return next && next.next_attempt_at <= new Date().toISOString() && !this.inFlight.has(next.id) ? next : undefined;
  }

  /**
   * Claims message `id` in the database: one conditional UPDATE that marks it 'sent' (attempts + 1, a
   * lease of leaseMs, renewed while the delivery runs) only if it is still open and due (a 'sent' row is
   * due once its lease has run out: the gateway that claimed it died or stopped renewing). Atomic on both dialects (SQLite:
   * one writer; PostgreSQL: the second UPDATE waits for the first and re-checks the condition), so of
   * N gateways exactly one gets the row. Recorded before the try: a crash from here on leaves 'sent',
   * retried with the same identity (SR UID, HL7 control id).
   */
  private async claim(id: number) {
    const now = new Date();
    const at = now.toISOString();
    return this.db
      .updateTable('outbox')
      .set((eb) => ({ status: 'sent', attempts: eb('attempts', '+', 1), sent_at: at, updated_at: at, next_attempt_at: new Date(now.getTime() + this.settings.leaseMs).toISOString() }))
      .where('id', '=', id)
      .where('status', 'in', OPEN)
      .where('next_attempt_at', '<=', at)
      .returningAll()
      .executeTakeFirst();
  }

  /** Delivers one due message (used by runOnce and by tests); a no-op unless this gateway claims it. */
  async deliverOne(id: number): Promise<'acknowledged' | 'failed' | 'dead' | 'not claimed'> {
    if (this.inFlight.has(id)) return 'not claimed';
    this.inFlight.add(id);
    try {
      const row = await this.claim(id);
      // Not ours: delivered, dead, or claimed by another gateway (its lease has not run out).
      if (!row) return 'not claimed';
      this.claimedNow.add(id);
      this.stats.claimed++;
      const attempts = row.attempts;
      const payload = JSON.parse(row.payload) as OutboxPayload;
      const record = (action: string, outcome: 0 | 4 | 8 = 0): AuditEvent => ({ actor: 'gateway-outbox', role: null, action, outcome, studyUID: row.study_uid ?? null, detail: { outboxId: id, kind: row.kind, attempt: attempts } });
      if (payload.type === 'oru') await appendAudit(this.db, record('hl7-sent'));
      try {
        let note: string;
        const handler = this.handlers.get(row.kind);
        if (handler) note = await handler(payload, attempts);
        else if (payload.type === 'sr') note = await deliverSr(this.ctx, payload, attempts);
        else if (payload.type === 'oru') note = await deliverOru(this.ctx, payload, attempts);
        else note = await deliverWebhook(this.ctx, payload);
        const at = new Date().toISOString();
        this.claimedNow.delete(id);
        // The new state and its audit record: one transaction.
        await withAudit(this.db, async (trx) => {
          await trx.updateTable('outbox').set({ status: 'acknowledged', acknowledged_at: at, updated_at: at, last_error: note }).where('id', '=', id).where('status', '=', 'sent').execute();
          return { value: undefined, audit: record(handler ? `${row.kind}-delivered` : payload.type === 'sr' ? 'sr-stored' : payload.type === 'oru' ? 'hl7-acknowledged' : 'webhook-delivered') };
        });
        this.stats.acknowledged++;
        this.onDelivered?.(row.kind, Date.parse(at) - Date.parse(row.created_at));
        return 'acknowledged';
      } catch (e) {
        const err = e instanceof DeliveryError ? e : new DeliveryError((e as Error).message ?? String(e), true);
        const dead = !err.retry || attempts >= this.settings.maxAttempts;
        const at = new Date();
        this.claimedNow.delete(id);
        // The new state and its audit record (only the status: the error text may quote a peer's message): one transaction.
        await withAudit(this.db, async (trx) => {
          await trx
            .updateTable('outbox')
            .set({
              status: dead ? 'dead' : 'failed',
              last_error: err.message.slice(0, 1000),
              updated_at: at.toISOString(),
              next_attempt_at: new Date(at.getTime() + (dead ? 0 : backoffMs(attempts, this.settings))).toISOString(),
            })
            .where('id', '=', id)
            .where('status', '=', 'sent')
            .execute();
          return { value: undefined, audit: record(dead ? 'outbox-dead' : 'outbox-retry-scheduled', dead ? 8 : 4) };
        });
        this.stats[dead ? 'dead' : 'failed']++;
        return dead ? 'dead' : 'failed';
      }
    } finally {
      this.inFlight.delete(id);
      this.claimedNow.delete(id);
    }
  }
}
