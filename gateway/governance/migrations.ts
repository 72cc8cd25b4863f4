/** Migrations owned by the governance capability: the gateway's own health records (issue 17). Versions 900–999. */
import type { Generated } from 'kysely';
import type { Migration } from '../db/migration.js';

declare module '../db/database.js' {
  interface DB {
    governance_health: GovernanceHealthTable;
    governance_settings: GovernanceSettingsTable;
    governance_notices: GovernanceNoticesTable;
    governance_inputs: GovernanceInputsTable;
    governance_intensity: GovernanceIntensityTable;
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

/** Versioned settings: each change a new row (the alert rules: key `alert-rules`). */
export interface GovernanceSettingsTable {
  seq: Generated<number>;
  key: string;
  value: string;
  changed_by: string;
  changed_at: string;
}

/** In-app notices to admin and governance: a model left a range of the alert rules. One per breach key. */
export interface GovernanceNoticesTable {
  key: string;
  created_at: string;
  model: string;
  version: string;
  mode: string;
  modality: string;
  week: string;
  metric: string;
  kind: string;
  value: number;
  message: string;
  acked_by: string | null;
  acked_at: string | null;
}

/** What the drift figures know of a study's images: scanner model and slice thickness, read once from the PACS. */
export interface GovernanceInputsTable {
  study_uid: string;
  scanner: string | null;
  slice_thickness: number | null;
  /** 'read' | 'no-image' (nothing readable in the PACS) */
  state: string;
  recorded_at: string;
}

/**
 * A study's pixel intensities as one model read them (drift): the HU histogram summed over the slices the
 * pre-read read (kept per slice with its output in preread_slices), summed once when the model's pre-read
 * of the study is done, so the drift check does not re-read every slice's output each time.
 */
export interface GovernanceIntensityTable {
  study_uid: string;
  model: string;
  /** JSON number[] (counts per HU bin), or null: no slice with a histogram (not CT, not HU, read before histograms were kept). */
  histogram: string | null;
  slices: number;
  recorded_at: string;
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
  {
    version: 901,
    name: 'governance: alert rules (versioned settings) and notices',
    async up(db, dialect) {
      await db.schema
        .createTable('governance_settings')
        .addColumn('seq', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('changed_by', 'text', (c) => c.notNull())
        .addColumn('changed_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('governance_notices')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('modality', 'text', (c) => c.notNull())
        .addColumn('week', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', dialect === 'postgres' ? 'double precision' : 'real', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('acked_by', 'text')
        .addColumn('acked_at', 'text')
        .execute();
    },
  },
  {
    version: 902,
    name: 'governance: study inputs for drift (scanner, slice thickness)',
    async up(db, dialect) {
      await db.schema
        .createTable('governance_inputs')
        .addColumn('study_uid', 'text', (c) => c.primaryKey())
        .addColumn('scanner', 'text')
        .addColumn('slice_thickness', dialect === 'postgres' ? 'double precision' : 'real')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 903,
    name: 'governance: study intensity histograms for drift',
    async up(db) {
      await db.schema
        .createTable('governance_intensity')
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('histogram', 'text')
        .addColumn('slices', 'integer', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('governance_intensity_pk', ['study_uid', 'model'])
        .execute();
    },
  },
];
