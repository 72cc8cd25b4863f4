/**
 * Versioned migrations. Each runs once, in order, inside a transaction under the migrations lock, and
 * is recorded in schema_migrations. Column types that differ (serial, double precision) and triggers
 * are written once per dialect. Add new ones at the end; never edit one that has shipped.
 */
import { sql, type Kysely } from 'kysely';
import type { DB, Dialect, Store } from './database.js';
import type { Migration } from './migration.js';
import { withAdvisoryLock } from './dialect.js';
import { sealLegacyAudit } from '../audit/audit.js';
import { migrations as findingsMigrations } from '../findings/migrations.js';
import { migrations as outboxMigrations } from '../outbox/migrations.js';
import { migrations as aiMigrations } from '../ai/migrations.js';
import { migrations as trustMigrations } from '../trust/migrations.js';
import { migrations as prereadMigrations } from '../preread/migrations.js';
import { migrations as authMigrations } from '../auth/migrations.js';
import { migrations as auditMigrations } from '../audit/migrations.js';
import { migrations as governanceMigrations } from '../governance/migrations.js';
import { migrations as measurementsMigrations } from '../measurements/migrations.js';

// The type lives in its own module so capability migrations need not import this registry (no cycle).
export type { Migration };

const autoInc = (dialect: Dialect) => (dialect === 'postgres' ? 'serial' : 'integer');

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'users and sessions',
    async up(db, dialect) {
      await db.schema
        .createTable('users')
        .addColumn('id', autoInc(dialect), (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 2,
    name: 'findings',
    async up(db, dialect) {
      await db.schema
        .createTable('findings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('confidence', dialect === 'postgres' ? 'double precision' : 'real', (c) => c.notNull())
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('findings_study').on('findings').column('study_uid').execute();
    },
  },
  {
    version: 3,
    name: 'append-only hash-chained audit',
    async up(db, dialect) {
      await db.schema
        .createTable('audit')
        .addColumn('seq', autoInc(dialect), (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('role', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('outcome', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('study_uid', 'text')
        .addColumn('finding_id', 'text')
        .addColumn('detail', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      // The database itself refuses UPDATE and DELETE on the audit table.
      if (dialect === 'sqlite') {
        await sql`CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END`.execute(db);
        await sql`CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END`.execute(db);
      } else {
        await sql`CREATE FUNCTION audit_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit is append-only'; END $$ LANGUAGE plpgsql`.execute(db);
        await sql`CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()`.execute(db);
      }
    },
  },
];

/** Core tables (1–99) plus each capability's own range, so capabilities never collide on version numbers. */
export const ALL_MIGRATIONS: Migration[] = [...MIGRATIONS, ...findingsMigrations, ...outboxMigrations, ...aiMigrations, ...trustMigrations, ...prereadMigrations, ...authMigrations, ...auditMigrations, ...governanceMigrations, ...measurementsMigrations];

/**
 * Applies what is missing, in version order, each migration in its own transaction. Safe when several
 * gateways start at once on one PostgreSQL: every transaction first takes the advisory lock
 * `migrations` (pg_advisory_xact_lock, as Kysely's own Migrator does) and re-reads whether its version is
 * already applied, so each migration runs exactly once and the others wait for it. SQLite: one process,
 * one writer. (Why not Kysely's Migrator itself: see the README, "Database".)
 */
export async function migrate(store: Store, migrations: Migration[] = ALL_MIGRATIONS): Promise<number[]> {
  const { db, dialect } = store;
  await withAdvisoryLock(db, 'migrations', async (trx) => {
    await trx.schema
      .createTable('schema_migrations')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'text', (c) => c.notNull())
      .execute();
  });
  const done = new Set((await db.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    const ran = await withAdvisoryLock(db, 'migrations', async (trx) => {
      // Another gateway may have applied it while we waited for the lock.
      if (await trx.selectFrom('schema_migrations').select('version').where('version', '=', m.version).executeTakeFirst()) return false;
      await m.up(trx, dialect);
      await trx.insertInto('schema_migrations').values({ version: m.version, name: m.name, applied_at: new Date().toISOString() }).execute();
      return true;
    });
    if (ran) applied.push(m.version);
  }
  // Audit records from before the keyed MAC get theirs on the key's first start (see sealLegacyAudit).
  await sealLegacyAudit(store);
  return applied;
}
