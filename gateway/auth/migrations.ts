/** Migrations of the authentication tables (range 610–619). */
import { sql } from 'kysely';
import type { Migration } from '../db/migration.js';
import './throttle.js';

export const migrations: Migration[] = [
  {
    version: 610,
    name: 'sessions keyed by the token hash, with an idle timeout',
    async up(db) {
      // Rows from before held the cookie's value itself: they are dropped (everyone logs in again).
      await sql`DELETE FROM sessions`.execute(db);
      await db.schema.alterTable('sessions').addColumn('last_seen_at', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('idle_ms', 'integer').execute();
    },
  },
  {
    version: 611,
    name: 'log-in failures in the database, shared by every gateway (was in memory per process)',
    async up(db) {
      await db.schema
        .createTable('login_failures')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull())
        .addColumn('at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('login_failures_key').on('login_failures').columns(['scope', 'key_hash', 'at_ms']).execute();
      await db.schema.createIndex('login_failures_at').on('login_failures').columns(['scope', 'at_ms']).execute();
    },
  },
];
