/** Migrations owned by this capability: pre-read jobs and change-feed cursor (issue 8). Versions 500–599. */
import type { Migration } from '../db/migration.js';

/** Where we are in Orthanc's /changes feed: one row per feed, advanced in the same transaction as the jobs it created. */
export interface PrereadCursorTable {
  feed: string;
  last_seq: number;
  updated_at: string;
}

/** One row per study seen on arrival: routing decision, triage result, AI state. */
export interface PrereadStudiesTable {
  study_uid: string;
  orthanc_id: string;
  /** Hash of the sorted non-own image instance UIDs, plus their count: what has been (or is being) read. */
  fingerprint: string;
  instance_count: number;
  modality: string | null;
  arrived_at: string;
  /** When the current fingerprint arrived (re-reads reset it). */
  fingerprint_at: string;
  /** JSON: [{ model, version, decision: 'run'|'skip', reason }] */
  routing: string;
  /** 'disabled' when AI is switched off for the study; otherwise derived from jobs. */
  ai_override: string | null;
  priority: string;
  reason: string;
  /** When the current triage result was computed (arrival→flag latency). */
  flagged_at: string | null;
  updated_at: string;
  /** The finding behind the stored priority (migration 501); null for 'none'. */
  finding_id: string | null;
}

export interface PrereadJobsTable {
  id: string;
  study_uid: string;
  model: string;
  model_version: string;
  fingerprint: string;
  /** JSON: { seriesId, seriesInstanceUID, orthancStudyId } */
  payload: string;
  state: string; // pending | running | done | failed
  attempts: number;
  next_at: string;
  last_error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  findings_count: number | null;
  provider: string | null;
  duration_ms: number | null;
  /** Which gateway process runs it (migration 502): several processes share one PostgreSQL database. */
  claimed_by: string | null;
  /** Until when the claim holds; the runner renews it while the job runs, an expired one is re-queued. */
  lease_until: string | null;
  /** Why a finished job counted no output (migration 503): "outside the model's domain: …"; null otherwise. */
  outcome: string | null;
}

/**
 * What an arriving series is for a model (migration 503), decided on its first instance's header by
 * THE eligibility rule, so slices are read as they land; the header facts the pixel guard needs too.
 */
export interface PrereadSeriesTable {
  study_uid: string;
  series_uid: string;
  model: string;
  orthanc_series: string;
  decision: string; // run | skip
  reason: string;
  /** JSON ValueFacts (Rescale Type, Units) from the first instance. */
  value_facts: string;
  created_at: string;
}

/**
 * One instance read by one model (migration 503): claimed like a job (one process, a lease), read once;
 * its per-slice output (boxes before cross-slice linking, intensity statistics) is kept so the study's
 * result is decoded from what was read as it arrived.
 */
export interface PrereadSlicesTable {
  id: string;
  study_uid: string;
  series_uid: string;
  model: string;
  sop_uid: string;
  orthanc_instance: string;
  state: string; // pending | running | done | failed
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  claimed_by: string | null;
  lease_until: string | null;
  /** JSON SliceOutput (queue.ts). */
  result: string | null;
  last_error: string | null;
  /** Times a worker was given this instance (claims): 1 when read once; more only after a failure or a dead process. */
  reads: number;
  /** Order of arrival within the study (migration 504): reads are claimed breadth-first across studies. */
  rank: number;
}

export interface PrereadAlertsTable {
  id: string;
  study_uid: string;
  priority: string;
  reason: string;
  finding_id: string | null;
  created_at: string;
  acked_by: string | null;
  acked_at: string | null;
  /** Closed by the system when the study stopped being critical for readers (migration 501). */
  closed_at: string | null;
  /** 'rejected' | 'signed-off' | 'ai-disabled' | 'rollout' | 'findings-changed' | 'policy' */
  closed_reason: string | null;
}

declare module '../db/database.js' {
  interface DB {
    preread_cursor: PrereadCursorTable;
    preread_studies: PrereadStudiesTable;
    preread_jobs: PrereadJobsTable;
    preread_alerts: PrereadAlertsTable;
    preread_series: PrereadSeriesTable;
    preread_slices: PrereadSlicesTable;
  }
}

export const migrations: Migration[] = [
  {
    version: 500,
    name: 'preread cursor, studies, jobs, alerts',
    async up(db) {
      await db.schema
        .createTable('preread_cursor')
        .addColumn('feed', 'text', (c) => c.primaryKey())
        .addColumn('last_seq', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('preread_studies')
        .addColumn('study_uid', 'text', (c) => c.primaryKey())
        .addColumn('orthanc_id', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('instance_count', 'integer', (c) => c.notNull())
        .addColumn('modality', 'text')
        .addColumn('arrived_at', 'text', (c) => c.notNull())
        .addColumn('fingerprint_at', 'text', (c) => c.notNull())
        .addColumn('routing', 'text', (c) => c.notNull())
        .addColumn('ai_override', 'text')
        .addColumn('priority', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('flagged_at', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('preread_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('model_version', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_at', 'text', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('findings_count', 'integer')
        .addColumn('provider', 'text')
        .addColumn('duration_ms', 'integer')
        .execute();
      // The same model never runs twice on the same set of images, whatever the feed replays.
      await db.schema.createIndex('preread_jobs_unique').on('preread_jobs').columns(['study_uid', 'model', 'fingerprint']).unique().execute();
      await db.schema.createIndex('preread_jobs_state').on('preread_jobs').columns(['state', 'next_at']).execute();
      await db.schema
        .createTable('preread_alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('priority', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('finding_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('acked_by', 'text')
        .addColumn('acked_at', 'text')
        .execute();
    },
  },
  {
    version: 501,
    name: 'triage: the finding behind a study priority; alerts closed by the system with a reason',
    async up(db) {
      await db.schema.alterTable('preread_studies').addColumn('finding_id', 'text').execute();
      await db.schema.alterTable('preread_alerts').addColumn('closed_at', 'text').execute();
      await db.schema.alterTable('preread_alerts').addColumn('closed_reason', 'text').execute();
      await db.schema.createIndex('preread_alerts_study').on('preread_alerts').column('study_uid').execute();
    },
  },
  {
    version: 502,
    name: 'preread jobs: claimed by a process under a lease (several gateways on one database)',
    async up(db) {
      await db.schema.alterTable('preread_jobs').addColumn('claimed_by', 'text').execute();
      await db.schema.alterTable('preread_jobs').addColumn('lease_until', 'text').execute();
    },
  },
  {
    version: 503,
    name: 'preread: series decided on their first instance, instances read as they arrive, outcome of a job',
    async up(db) {
      await db.schema.alterTable('preread_jobs').addColumn('outcome', 'text').execute();
      await db.schema
        .createTable('preread_series')
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('series_uid', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('orthanc_series', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('value_facts', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('preread_series_pk', ['study_uid', 'series_uid', 'model'])
        .execute();
      await db.schema
        .createTable('preread_slices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('series_uid', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('sop_uid', 'text', (c) => c.notNull())
        .addColumn('orthanc_instance', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('claimed_by', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('result', 'text')
        .addColumn('last_error', 'text')
        .addColumn('reads', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // An instance is read once per model, whatever the feed replays or the finaliser adds.
      await db.schema.createIndex('preread_slices_unique').on('preread_slices').columns(['study_uid', 'model', 'sop_uid']).unique().execute();
      await db.schema.createIndex('preread_slices_state').on('preread_slices').columns(['state', 'created_at']).execute();
      await db.schema.createIndex('preread_slices_series').on('preread_slices').columns(['study_uid', 'series_uid', 'model']).execute();
    },
  },
  {
    version: 504,
    name: 'preread reads: rank within the study, for breadth-first claims across studies',
    async up(db) {
      await db.schema.alterTable('preread_slices').addColumn('rank', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.createIndex('preread_slices_claim').on('preread_slices').columns(['state', 'rank']).execute();
    },
  },
];
