/**
 * Test helper: the audit table refuses new records while `fn` runs (what a full disk or a dropped
 * connection does in the middle of a transaction), on either dialect; with `actions`, only records of
 * those actions (to fail one step of a pipeline while the rest goes on). An act recorded with withAudit
 * (gateway/audit/audit.ts) must then fail whole: nothing of it kept.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../gateway/db/database.js';
import { dialectOf } from '../gateway/db/dialect.js';

export async function whileAuditRefused<T>(db: Kysely<DB>, fn: () => Promise<T>, opts: { actions?: readonly string[] } = {}): Promise<T> {
  const sqlite = dialectOf(db) === 'sqlite';
  // DDL takes no parameters: the action names go in as literals.
  const only = opts.actions?.length ? sql.join(opts.actions.map((a) => sql.lit(a))) : null;
  if (sqlite) {
    const when = only ? sql` WHEN NEW.action IN (${only})` : sql``;
    await sql`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit${when} BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END`.execute(db);
  } else {
    const cond = only ? sql`IF NEW.action IN (${only}) THEN RAISE EXCEPTION 'audit unavailable'; END IF; RETURN NEW;` : sql`RAISE EXCEPTION 'audit unavailable';`;
    await sql`CREATE FUNCTION audit_refuse() RETURNS trigger AS $$ BEGIN ${cond} END $$ LANGUAGE plpgsql`.execute(db);
    await sql`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION audit_refuse()`.execute(db);
  }
  try {
    return await fn();
  } finally {
    if (sqlite) await sql`DROP TRIGGER audit_refuse`.execute(db);
    else {
      await sql`DROP TRIGGER audit_refuse ON audit`.execute(db);
      await sql`DROP FUNCTION audit_refuse()`.execute(db);
    }
  }
}
