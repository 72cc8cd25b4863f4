/** Migrations of the audit table (range 620–629). */
import type { Migration } from '../db/migration.js';

export const migrations: Migration[] = [
  {
    version: 620,
    name: 'audit records carry a keyed MAC (key outside the database)',
    async up(db) {
      // ADD COLUMN is not an UPDATE: the append-only triggers stay as they are. Older rows get their
      // MAC when the gateway first starts with a newly created key (sealLegacyAudit).
      await db.schema.alterTable('audit').addColumn('mac', 'text').execute();
    },
  },
];
