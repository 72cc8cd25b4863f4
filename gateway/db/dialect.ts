/**
 * The statements that differ between SQLite and PostgreSQL, so capabilities never branch on the dialect
 * themselves. SQLite is the single-process embedded default: one connection, one writer, so a lock is
 * already held by construction and leadership is always ours. PostgreSQL serves N gateway processes:
 * advisory locks (keyed by a name), `FOR UPDATE SKIP LOCKED` claims, and leadership held by a session
 * advisory lock on a dedicated connection, released by the server when the process dies.
 */
import crypto from 'node:crypto';
import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import type { DB, Dialect, Store } from './database.js';

/** The dialect behind a Kysely handle (or transaction). */
export function dialectOf(db: Kysely<DB> | Transaction<DB>): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** A stable signed 64-bit advisory-lock key for a name (as a decimal string, for `::bigint`). */
export function lockKey(name: string): string {
  return crypto.createHash('sha256').update(`reading-station:${name}`).digest().readBigInt64BE(0).toString();
}

/**
 * Takes a transaction-scoped lock named `name` (PostgreSQL: pg_advisory_xact_lock, released at commit or
 * rollback). Call first thing inside `db.transaction()`. SQLite: a no-op, its one writer already serialises.
 */
export async function advisoryXactLock(trx: Transaction<DB> | Kysely<DB>, name: string): Promise<void> {
  if (dialectOf(trx) !== 'postgres') return;
  await sql`SELECT pg_advisory_xact_lock(${lockKey(name)}::bigint)`.execute(trx);
}

/** Runs `fn` in a transaction that holds the lock `name` throughout (see advisoryXactLock). */
export function withAdvisoryLock<T>(db: Kysely<DB>, name: string, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await advisoryXactLock(trx, name);
    return fn(trx);
  });
}

export interface ClaimSpec {
  /** The table to claim rows from. */
  table: keyof DB & string;
  /** Its primary-key column. */
  key: string;
  /** Which rows may be claimed (raw SQL condition over the table's columns, built with `sql`). */
  where: ReturnType<typeof sql>;
  /** What the claim writes (e.g. state = 'running', a lease deadline, the claimer). */
  set: Record<string, unknown>;
  /** ORDER BY column (ascending), default the key. */
  orderBy?: string;
  limit: number;
}

/**
 * Atomically claims up to `limit` rows: sets `set` on them and returns them as they are after the claim.
 * Two gateways calling this at once never get the same row. PostgreSQL: UPDATE ... WHERE key IN (SELECT
 * ... FOR UPDATE SKIP LOCKED), so claimers do not wait for each other; SQLite: the same UPDATE without
 * the row lock, atomic because SQLite has one writer. Both dialects support RETURNING.
 */
export async function claimRows<R = Record<string, unknown>>(db: Kysely<DB> | Transaction<DB>, spec: ClaimSpec): Promise<R[]> {
  if (!Number.isInteger(spec.limit) || spec.limit < 1) throw new Error(`claimRows: limit must be a positive integer, got ${spec.limit}`);
  const entries = Object.entries(spec.set);
  if (!entries.length) throw new Error('claimRows: `set` is empty: a claim must write something that marks the row as taken');
  const t = sql.table(spec.table);
  const k = sql.ref(spec.key);
  const order = sql.ref(spec.orderBy ?? spec.key);
  const assignments = sql.join(entries.map(([c, v]) => sql`${sql.ref(c)} = ${v}`));
  const lock = dialectOf(db) === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  const r = await sql<R>`UPDATE ${t} SET ${assignments} WHERE ${k} IN (SELECT ${k} FROM ${t} WHERE ${spec.where} ORDER BY ${order} LIMIT ${spec.limit} ${lock}) RETURNING *`.execute(db);
  return r.rows;
}

export interface Leadership {
  /** Whether this process holds the lead now (PostgreSQL: tries to take it when free). Call it on every poll. */
  check(): Promise<boolean>;
  /** Gives the lead up (and closes the dedicated connection). */
  release(): Promise<void>;
}

/**
 * Leader election by name: at most one process at a time gets `true` from check(). PostgreSQL: a
 * session-level advisory lock on a dedicated connection (outside the pool), so when the leader dies,
 * or its connection does, the server releases the lock and the next check() elsewhere takes it over.
 * A follower calling check() every second takes over within about a second of the leader's death
 * (TCP keep-alive bounds the time for a leader whose machine vanished rather than its process).
 * SQLite: always the leader (one process).
 */
export async function tryLeadership(store: Store, name: string): Promise<Leadership> {
  if (store.dialect !== 'postgres' || !store.url) return { check: async () => true, release: async () => {} };
  const pg = (await import('pg')).default;
  const key = lockKey(`leader:${name}`);
  let client: InstanceType<typeof pg.Client> | null = null;
  let leader = false;
  let released = false;
  const drop = () => {
    leader = false;
    const c = client;
    client = null;
    c?.end().catch(() => {});
  };
  const connect = async () => {
    const c = new pg.Client({ connectionString: store.url, keepAlive: true, keepAliveInitialDelayMillis: 5_000 });
    c.on('error', () => {
      if (client === c) drop();
    });
    await c.connect();
    client = c;
  };
  let busy: Promise<boolean> | null = null;
  const check = async (): Promise<boolean> => {
    if (released) return false;
    try {
      if (!client) await connect();
      if (leader) {
        // Still connected (so still holding the lock)?
        await client!.query('SELECT 1');
        return true;
      }
      const r = await client!.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
      leader = r.rows[0]?.ok === true;
      return leader;
    } catch {
      drop();
      return false;
    }
  };
  return {
    check() {
      // Calls overlapping on the one connection are folded into one.
      busy ??= check().finally(() => {
        busy = null;
      });
      return busy;
    },
    async release() {
      released = true;
      const c = client;
      client = null;
      leader = false;
      if (c) await c.end().catch(() => {});
    },
  };
}
