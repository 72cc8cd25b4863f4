/** Findings storage: the validated Finding is stored whole (JSON body) with a few indexed columns. */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { FindingSchema, type Finding } from '../../src/core/findings/finding.js';

export async function upsertFinding(db: Kysely<DB>, f: Finding): Promise<void> {
  const now = new Date().toISOString();
  const row = {
    id: f.id,
    study_uid: f.studyInstanceUID,
    status: f.status,
    severity: f.severity,
    confidence: f.confidence,
    model_name: f.model.name,
    source: f.source,
    body: JSON.stringify(f),
    updated_at: now,
  };
  await db
    .insertInto('findings')
    .values({ ...row, created_at: f.createdAt ?? now })
    .onConflict((oc) => oc.column('id').doUpdateSet(row))
    .execute();
}

export async function findingsForStudy(db: Kysely<DB>, studyUID: string): Promise<Finding[]> {
  const rows = await db.selectFrom('findings').select('body').where('study_uid', '=', studyUID).execute();
  return rows.map((r) => FindingSchema.parse(JSON.parse(r.body)));
}

export async function getFinding(db: Kysely<DB>, id: string): Promise<Finding | null> {
  const row = await db.selectFrom('findings').select('body').where('id', '=', id).executeTakeFirst();
  return row ? FindingSchema.parse(JSON.parse(row.body)) : null;
}
