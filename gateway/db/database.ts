/**
 * The data layer: Kysely over SQLite (embedded default, better-sqlite3 12.x) or PostgreSQL.
 * Queries are built with Kysely (never by string concatenation); the few dialect-specific
 * statements live in the migrations (triggers) and in ./dialect.ts (locks, claims, notifications),
 * one branch per dialect.
 */
import { Kysely, PostgresDialect, SqliteDialect, type Generated, type ColumnType } from 'kysely';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { headSettled, resolveAuditKey, setAuditKey, type AuditKeyOptions } from '../audit/key.js';

export interface UsersTable {
  id: Generated<number>;
  username: string;
  display_name: string;
  role: string;
  password_hash: string;
  failed_logins: ColumnType<number, number | undefined, number>;
  locked_until: string | null;
  created_at: string;
}

export interface SessionsTable {
  id: string;
  user_id: number;
  csrf_token: string;
  created_at: string;
  expires_at: string;
  /** Sliding idle timeout: the last request's time, and the idle limit this session was given. */
  last_seen_at: string | null;
  idle_ms: number | null;
}

export interface FindingsTable {
  id: string;
  study_uid: string;
  status: string;
  severity: string;
  confidence: number;
  model_name: string;
  source: string;
  /** The whole Finding, validated, as JSON: one representation, no second model in columns. */
  body: string;
  created_at: string;
  updated_at: string;
}

export interface AuditTable {
  seq: Generated<number>;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  outcome: number;
  study_uid: string | null;
  finding_id: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
  /** HMAC-SHA256 of `hash` under the audit key, which lives outside the database (gateway/audit/key.ts). */
  mac: string | null;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: string;
}

export interface DB {
  users: UsersTable;
  sessions: SessionsTable;
  findings: FindingsTable;
  audit: AuditTable;
  schema_migrations: SchemaMigrationsTable;
}

export type Dialect = 'sqlite' | 'postgres';
export interface Store {
  db: Kysely<DB>;
  dialect: Dialect;
  /** The postgres:// URL (PostgreSQL only): for the dedicated connections of leadership and LISTEN. */
  url?: string;
  close(): Promise<void>;
}

/**
 * Opens the database and binds the audit key to it (gateway/audit/key.ts: the key lives outside the
 * database; by default a 0600 file beside it, created on first start). Defaults come from the environment.
 */
export async function openStore(location: string, auditKey: AuditKeyOptions = { key: process.env.AUDIT_KEY, keyFile: process.env.AUDIT_KEY_FILE }): Promise<Store> {
  // Resolved first: a missing or unreadable key stops here, before anything is written.
  const key = resolveAuditKey(location, auditKey);
  const store = await openDatabase(location);
  setAuditKey(store.db, key);
  // The audit checkpoint is written after the append returns (audit.ts): closing waits for it.
  return { ...store, close: async () => (await headSettled(key), store.close()) };
}

async function openDatabase(location: string): Promise<Store> {
  if (isPostgresUrl(location)) {
    // PostgreSQL: the same Kysely queries with PostgresDialect (gateway/db/dialect.ts has the few
    // statements that differ: advisory locks, row claims, LISTEN/NOTIFY).
    const pg = (await import('pg')).default;
    const pool = new pg.Pool({
      connectionString: location,
      max: Number(process.env.DATABASE_POOL_MAX) > 0 ? Number(process.env.DATABASE_POOL_MAX) : 10,
      // COUNT(*) and other bigints arrive as strings by default; our counts and ids fit a JS number.
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
    });
    // An idle pooled connection that dies (server restart) must not crash the process.
    pool.on('error', () => {});
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', url: location, close: () => db.destroy() };
  }
  if (location !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(location)), { recursive: true });
  // BETTER_SQLITE3_BINDING: a better-sqlite3 build for another Node ABI (scripts/node-lts.sh); else node_modules' own.
  const sqlite = new Database(location, process.env.BETTER_SQLITE3_BINDING ? { nativeBinding: process.env.BETTER_SQLITE3_BINDING } : {});
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

export function isPostgresUrl(location: string): boolean {
  return location.startsWith('postgres://') || location.startsWith('postgresql://');
}
