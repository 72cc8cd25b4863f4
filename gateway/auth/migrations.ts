/** Migrations of the authentication tables (range 610–619). */
import { sql } from 'kysely';
import type { Migration } from '../db/migrations.js';

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
];
