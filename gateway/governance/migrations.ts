/** Migrations owned by the governance capability: the gateway's own health records (issue 17). Versions 900–999. */
import type { Generated } from 'kysely';
import type { Migration } from '../db/migration.js';

declare module '../db/database.js' {
  interface DB {
    governance_health: GovernanceHealthTable;
  }
}

/**
 * One row per component per heartbeat, written by the gateway itself every interval
 * (gateway/governance/health.ts): `gateway` (the process is up and its database writable),
 * `pacs` (Orthanc answers), `model:<name>` (the model is installed with its file, not switched off).
 * Uptime is the time covered by ok rows; a gap (the gateway was down) counts as down.
 */
export interface GovernanceHealthTable {
  seq: Generated<number>;
  at: string;
  component: string;
  ok: number;
  /** Short reason when not ok (no PHI). */
  detail: string | null;
  interval_ms: number;
}

export const migrations: Migration[] = [
  {
    version: 900,
    name: 'governance: health records',
    async up(db, dialect) {
      await db.schema
        .createTable('governance_health')
        .addColumn('seq', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('component', 'text', (c) => c.notNull())
        .addColumn('ok', 'integer', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('interval_ms', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('governance_health_component_at').on('governance_health').columns(['component', 'at']).execute();
    },
  },
];
