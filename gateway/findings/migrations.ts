/** Migrations owned by this capability: findings verdicts and sign-off (issue 4). Versions 100–199. */
import type { Generated } from 'kysely';
import type { Migration } from '../db/migration.js';

declare module '../db/database.js' {
  interface DB {
    finding_verdicts: FindingVerdictsTable;
    study_signoffs: StudySignoffsTable;
    findings_after_signoff: FindingsAfterSignoffTable;
    findings_superseded: FindingsSupersededTable;
    sr_documents: SrDocumentsTable;
    report_drafts: ReportDraftsTable;
    report_addenda: ReportAddendaTable;
    inbound_reports: InboundReportsTable;
    study_opens: StudyOpensTable;
  }
}

/**
 * Who opened which study to read it (a reading role fetched its findings), stamped by the server: the
 * worklist's "in progress" for every user until sign-off (gateway/report/opened.ts).
 */
export interface StudyOpensTable {
  study_uid: string;
  username: string;
  role: string;
  first_opened_at: string;
  last_opened_at: string;
  /** The AI finding ids this reader was last given (sorted JSON): an open is audited again only when they change. */
  ai_finding_ids: Generated<string>;
}

/** Reports the RIS sent (ORU^R01 on the MLLP listener) for studies read elsewhere: shown as the prior's report. */
export interface InboundReportsTable {
  id: Generated<number>;
  accession: string;
  study_uid: string | null;
  patient_id: string;
  status: string;
  observed_at: string | null;
  text: string;
  control_id: string;
  received_at: string;
}

/** The radiologist's report draft (one per study), saved as it is edited; frozen at sign-off (`signed_at`). */
export interface ReportDraftsTable {
  study_uid: string;
  /** ReportDraft (src/core/report/draft.ts) as JSON. */
  draft: string;
  updated_by: string;
  updated_at: string;
  /** Set in the sign-off's transaction: from then on the draft is the signed report and never changes. */
  signed_at: string | null;
}

/** Text added after sign-off: each is a corrected result (ORU C) and a new SR referencing its predecessor. */
export interface ReportAddendaTable {
  id: Generated<number>;
  study_uid: string;
  text: string;
  added_by: string;
  added_at: string;
}

/**
 * One row per verdict, with the finding before and after: the undo stack and the history.
 * `finding_id` is the id acted on, `result_id` the id that holds the result (differs for the
 * first modify of an AI original, which creates the linked `~mod` finding).
 */
export interface FindingVerdictsTable {
  seq: Generated<number>;
  study_uid: string;
  finding_id: string;
  result_id: string;
  action: string;
  actor: string;
  role: string;
  at: string;
  before_body: string;
  after_body: string;
  undone: number;
}

export interface StudySignoffsTable {
  study_uid: string;
  signed_by: string;
  role: string;
  signed_at: string;
  /** Counts at sign-off, for the record (the verified report holds accepted + modified only). */
  verified_count: number;
  unverified_count: number;
  rejected_count: number;
  /** Ids of the findings left unverified at sign-off (JSON array), confirmed by the signer. */
  unverified_ids: string;
}

/**
 * AI output that arrived after the study was signed off: a separate result set, never merged into
 * the signed record (it may start an addendum). One row per finding id.
 */
export interface FindingsAfterSignoffTable {
  id: string;
  study_uid: string;
  source: string;
  model_name: string;
  body: string;
  arrived_at: string;
  actor: string;
}

/** Unverified AI findings replaced by a re-read of the same model: kept whole, so the change stays visible. */
export interface FindingsSupersededTable {
  seq: Generated<number>;
  finding_id: string;
  study_uid: string;
  model_name: string;
  body: string;
  superseded_at: string;
  /** Who brought the newer result (preread, a user's in-browser run). */
  superseded_by: string;
  source: string;
}

/** SR instances in the PACS the gateway has read (or recognised as its own), so each is read once. */
export interface SrDocumentsTable {
  sop_instance_uid: string;
  study_uid: string;
  series_uid: string;
  /** read | own | unreadable | not-ours-to-read */
  state: string;
  findings_count: number;
  warnings: string;
  read_at: string;
}

export const migrations: Migration[] = [
  {
    version: 100,
    name: 'finding verdict history and study sign-off',
    async up(db, dialect) {
      await db.schema
        .createTable('finding_verdicts')
        .addColumn('seq', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('finding_id', 'text', (c) => c.notNull())
        .addColumn('result_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('before_body', 'text', (c) => c.notNull())
        .addColumn('after_body', 'text', (c) => c.notNull())
        .addColumn('undone', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('finding_verdicts_result').on('finding_verdicts').columns(['result_id', 'undone']).execute();
      await db.schema
        .createTable('study_signoffs')
        .addColumn('study_uid', 'text', (c) => c.primaryKey())
        .addColumn('signed_by', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('signed_at', 'text', (c) => c.notNull())
        .addColumn('verified_count', 'integer', (c) => c.notNull())
        .addColumn('unverified_count', 'integer', (c) => c.notNull())
        .addColumn('rejected_count', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 101,
    name: 'one ingestion path: after-sign-off results, superseded findings, SR documents read, unverified ids at sign-off',
    async up(db, dialect) {
      await db.schema.alterTable('study_signoffs').addColumn('unverified_ids', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await db.schema
        .createTable('findings_after_signoff')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('arrived_at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('findings_after_signoff_study').on('findings_after_signoff').column('study_uid').execute();
      await db.schema
        .createTable('findings_superseded')
        .addColumn('seq', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('finding_id', 'text', (c) => c.notNull())
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('superseded_at', 'text', (c) => c.notNull())
        .addColumn('superseded_by', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('findings_superseded_study').on('findings_superseded').column('study_uid').execute();
      await db.schema
        .createTable('sr_documents')
        .addColumn('sop_instance_uid', 'text', (c) => c.primaryKey())
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('series_uid', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('findings_count', 'integer', (c) => c.notNull())
        .addColumn('warnings', 'text', (c) => c.notNull())
        .addColumn('read_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sr_documents_study').on('sr_documents').column('study_uid').execute();
    },
  },
  {
    version: 102,
    name: 'report drafts and addenda (issue 16)',
    async up(db, dialect) {
      await db.schema
        .createTable('report_drafts')
        .addColumn('study_uid', 'text', (c) => c.primaryKey())
        .addColumn('draft', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('signed_at', 'text')
        .execute();
      await db.schema
        .createTable('report_addenda')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('added_by', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('report_addenda_study').on('report_addenda').column('study_uid').execute();
    },
  },
  {
    version: 103,
    name: 'inbound reports from the RIS (issue 16: priors read elsewhere)',
    async up(db, dialect) {
      await db.schema
        .createTable('inbound_reports')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('accession', 'text', (c) => c.notNull())
        .addColumn('study_uid', 'text')
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('observed_at', 'text')
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('control_id', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('inbound_reports_accession').on('inbound_reports').column('accession').execute();
      await db.schema.createIndex('inbound_reports_study').on('inbound_reports').column('study_uid').execute();
    },
  },
  {
    version: 104,
    name: 'studies opened by a reader (issue 16: in progress for everyone)',
    async up(db) {
      await db.schema
        .createTable('study_opens')
        .addColumn('study_uid', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('first_opened_at', 'text', (c) => c.notNull())
        .addColumn('last_opened_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('study_opens_pk', ['study_uid', 'username'])
        .execute();
    },
  },
  {
    version: 105,
    name: 'studies opened: the AI findings last given (issue 16/17: one study-opened record per change)',
    async up(db) {
      await db.schema.alterTable('study_opens').addColumn('ai_finding_ids', 'text', (c) => c.notNull().defaultTo('[]')).execute();
    },
  },
];
