/**
 * Seeds the demo AI findings for the head CT and chest CR from a FIXTURE file (hand-placed marks,
 * not model output) so that `npm start` shows real marks until the model engineer's outputs land.
 * Idempotent and non-destructive: a finding already stored (possibly with a radiologist's verdict,
 * or replaced by its ~mod modification) is left alone.
 *
 * Library: `await seedDemoFindings(store.db)`. CLI: `tsx scripts/seed-demo-findings.ts .data/gateway.sqlite`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import type { DB } from '../gateway/db/database.js';
import { parseFinding, type Finding } from '../src/core/findings/finding.js';
import { modifiedId } from '../src/core/findings/verdict.js';
import { ingest } from '../gateway/findings/ingest.js';

export const DEMO_FINDINGS_FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'demo-findings.fixture.json');

/** Reads and validates the fixture; a broken fixture fails loudly, naming the finding and field. */
export function loadDemoFindings(file = DEMO_FINDINGS_FIXTURE): Finding[] {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { findings: unknown[] };
  return doc.findings.map((raw, i) => {
    const r = parseFinding(raw);
    if (!r.ok) throw new Error(`${path.basename(file)} finding ${i}: ${r.errors.join('; ')}`);
    return r.value;
  });
}

export async function seedDemoFindings(db: Kysely<DB>, file = DEMO_FINDINGS_FIXTURE): Promise<{ inserted: number; kept: number }> {
  const findings = loadDemoFindings(file);
  const fresh: Finding[] = [];
  for (const f of findings) {
    const existing = await db.selectFrom('findings').select('id').where('id', 'in', [f.id, modifiedId(f.id)]).executeTakeFirst();
    if (!existing) fresh.push(f);
  }
  // Through the one ingestion path (source 'fixture', stamped by the server, audited).
  let inserted = 0;
  for (const study of new Set(fresh.map((f) => f.studyInstanceUID))) {
    const out = await ingest({ db }, { studyUID: study, source: 'fixture', actor: { username: 'fixture' }, findings: fresh.filter((f) => f.studyInstanceUID === study) });
    inserted += out.stored.length;
  }
  return { inserted, kept: findings.length - inserted };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { openStore } = await import('../gateway/db/database.js');
  const { migrate } = await import('../gateway/db/migrations.js');
  const dbPath = process.argv[2];
  if (!dbPath) {
    console.error('usage: tsx scripts/seed-demo-findings.ts <gateway.sqlite>');
    process.exit(2);
  }
  const store = await openStore(dbPath);
  await migrate(store);
  const r = await seedDemoFindings(store.db);
  console.log(`[seed] demo findings (fixture): ${r.inserted} inserted, ${r.kept} already present`);
  await store.close();
}
