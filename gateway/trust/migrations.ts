/** Migrations owned by this capability: policy, rollout, AI disable (issue 7). Versions 400–499. */
import { sql } from 'kysely';
import type { Migration } from '../db/migration.js';

declare module '../db/database.js' {
  interface DB {
    policy_versions: PolicyVersionsTable;
    model_rollout: ModelRolloutTable;
    ai_disabled_studies: AiDisabledStudiesTable;
    ai_disabled_modalities: AiDisabledModalitiesTable;
    findings_shown: FindingsShownTable;
    trust_settings: TrustSettingsTable;
    policy_generation: PolicyGenerationTable;
  }
}

/** Each policy change is a new row: the current policy is the highest version, history is the rest. */
export interface PolicyVersionsTable {
  version: number;
  body: string;
  changed_by: string;
  changed_at: string;
  note: string | null;
}

export interface ModelRolloutTable {
  model_name: string;
  mode: string;
  changed_by: string;
  changed_at: string;
}

export interface AiDisabledStudiesTable {
  study_uid: string;
  reason: string;
  disabled_by: string;
  disabled_at: string;
}

export interface AiDisabledModalitiesTable {
  modality: string;
  disabled_by: string;
  disabled_at: string;
}

/** First time each finding reached a reader: the "shown" figure for governance. */
export interface FindingsShownTable {
  finding_id: string;
  model_name: string;
  first_shown_at: string;
  first_shown_to_role: string;
}

export interface TrustSettingsTable {
  key: string;
  value: string;
}

/**
 * One row: a number the database itself moves (triggers, both dialects) on every write to the reader
 * policy's tables, in the writing transaction. A gateway keeps its policy snapshot while the number is
 * the same (gateway/trust/service.ts): one query per request instead of four table reads, and a change
 * made on any gateway, or by hand in SQL, is seen by every gateway's next request.
 */
export interface PolicyGenerationTable {
  id: number;
  generation: number;
}

/** The tables readerPolicySnapshot reads. */
export const POLICY_TABLES = ['policy_versions', 'model_rollout', 'ai_disabled_studies', 'ai_disabled_modalities'] as const;

export const migrations: Migration[] = [
  {
    version: 400,
    name: 'trust: policy versions, rollout modes, AI disable, findings shown',
    async up(db) {
      await db.schema
        .createTable('policy_versions')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('changed_by', 'text', (c) => c.notNull())
        .addColumn('changed_at', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .execute();
      await db.schema
        .createTable('model_rollout')
        .addColumn('model_name', 'text', (c) => c.primaryKey())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('changed_by', 'text', (c) => c.notNull())
        .addColumn('changed_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ai_disabled_studies')
        .addColumn('study_uid', 'text', (c) => c.primaryKey())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('disabled_by', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ai_disabled_modalities')
        .addColumn('modality', 'text', (c) => c.primaryKey())
        .addColumn('disabled_by', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('findings_shown')
        .addColumn('finding_id', 'text', (c) => c.primaryKey())
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('first_shown_at', 'text', (c) => c.notNull())
        .addColumn('first_shown_to_role', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('trust_settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 401,
    name: 'trust: policy generation, moved by triggers on every policy table write',
    async up(db, dialect) {
      await db.schema
        .createTable('policy_generation')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('generation', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('policy_generation').values({ id: 1, generation: 1 }).execute();
      if (dialect === 'sqlite') {
        for (const t of POLICY_TABLES) {
          await sql`CREATE TRIGGER ${sql.id(`${t}_insert_generation`)} AFTER INSERT ON ${sql.table(t)} BEGIN UPDATE policy_generation SET generation = generation + 1 WHERE id = 1; END`.execute(db);
          await sql`CREATE TRIGGER ${sql.id(`${t}_update_generation`)} AFTER UPDATE ON ${sql.table(t)} BEGIN UPDATE policy_generation SET generation = generation + 1 WHERE id = 1; END`.execute(db);
          await sql`CREATE TRIGGER ${sql.id(`${t}_delete_generation`)} AFTER DELETE ON ${sql.table(t)} BEGIN UPDATE policy_generation SET generation = generation + 1 WHERE id = 1; END`.execute(db);
        }
      } else {
        await sql`CREATE FUNCTION policy_generation_bump() RETURNS trigger AS $$ BEGIN UPDATE policy_generation SET generation = generation + 1 WHERE id = 1; RETURN NULL; END $$ LANGUAGE plpgsql`.execute(db);
        for (const t of POLICY_TABLES) {
          await sql`CREATE TRIGGER ${sql.id(`${t}_generation`)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${sql.table(t)} FOR EACH STATEMENT EXECUTE FUNCTION policy_generation_bump()`.execute(db);
        }
      }
    },
  },
];
