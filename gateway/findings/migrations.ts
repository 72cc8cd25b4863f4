/** Migrations owned by this capability: findings verdicts and sign-off (issue 4). Versions 100–199. */
import type { Generated } from 'kysely';
import type { Migration } from '../db/migrations.js';

declare module '../db/database.js' {
  interface DB {
    finding_verdicts: FindingVerdictsTable;
    study_signoffs: StudySignoffsTable;
  }
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
];
