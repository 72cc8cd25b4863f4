/**
 * The demo prior (issue 16 item 7): the shared GE head CT again, as an earlier study of the same patient
 * (new Study/Series/SOP Instance UIDs derived from fixed strings, Study Date 2026-05-01, accession
 * DEMO-PRIOR-1), already read and signed: its two haemorrhages recorded at two thirds of the size the demo
 * fixture gives the current study, so that accepting them in the current study shows "+50 %".
 * The synthetic change is in the recorded findings (box size), not in the pixels: the slices are the same.
 * Idempotent: files are prepared once per data folder; the prior is read and signed once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Kysely } from 'kysely';
import type { DB } from '../gateway/db/database.js';
import { HEAD_CT_DIR } from './lib/demo-data.js';
import { uidFromString } from '../src/core/sr/uid.js';
import { loadDemoFindings } from './seed-demo-findings.js';
import { ingest } from '../gateway/findings/ingest.js';
import { findingsForStudy, recordVerdict } from '../gateway/findings/repository.js';
import { signOff } from '../gateway/findings/service.js';
import { saveDraft } from '../gateway/report/repository.js';
import { acceptAll, draftFromFindings } from '../src/core/report/draft.js';
import type { Finding } from '../src/core/findings/finding.js';

export const DEMO_PRIOR_STUDY = uidFromString('reading-station:demo-prior:study');
export const DEMO_PRIOR_SERIES = uidFromString('reading-station:demo-prior:series');
export const DEMO_PRIOR_DATE = '20260501';
/** Current size = prior size × 1.5 (prior boxes are 2/3 of the fixture's, same centre). */
export const DEMO_PRIOR_SCALE = 2 / 3;
const priorSop = (sop: string) => uidFromString(`reading-station:demo-prior:sop:${sop}`);

/** The prior's files (copies of the head CT slices with the prior's UIDs and date), made once in `dir`. */
export function prepareDemoPrior(dir: string): string[] {
  const names = fs.readdirSync(HEAD_CT_DIR).filter((f) => f.endsWith('.dcm')).sort();
  const done = path.join(dir, '.complete');
  if (!fs.existsSync(done)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const n of names) {
      const to = path.join(dir, n);
      fs.copyFileSync(path.join(HEAD_CT_DIR, n), to);
      const sop = execFileSync('dcmdump', ['-q', '-s', '+P', '0008,0018', to], { encoding: 'utf8' }).match(/\[([0-9.]+)\]/)?.[1];
      if (!sop) throw new Error(`${n}: no SOP Instance UID`);
      execFileSync('dcmodify', ['-nb', '-m', `(0020,000d)=${DEMO_PRIOR_STUDY}`, '-m', `(0020,000e)=${DEMO_PRIOR_SERIES}`, '-m', `(0008,0018)=${priorSop(sop)}`, '-m', `(0008,0020)=${DEMO_PRIOR_DATE}`, '-i', '(0008,0050)=DEMO-PRIOR-1', to]);
    }
    fs.writeFileSync(done, '');
  }
  return names.map((n) => path.join(dir, n));
}

/** The prior's findings: the head CT fixture's, moved onto the prior's images, boxes scaled about their centre. */
export function demoPriorFindings(): Finding[] {
  return loadDemoFindings()
    .filter((f) => f.id.startsWith('fixture-ct-'))
    .map((f) => ({
      ...f,
      id: f.id.replace(/^fixture-/, 'demo-prior-'),
      studyInstanceUID: DEMO_PRIOR_STUDY,
      regions: f.regions.map((r) => ({
        ...r,
        image: { ...r.image, seriesInstanceUID: DEMO_PRIOR_SERIES, sopInstanceUID: priorSop(r.image.sopInstanceUID) },
        ...(r.box
          ? { box: { x: r.box.x + (r.box.width * (1 - DEMO_PRIOR_SCALE)) / 2, y: r.box.y + (r.box.height * (1 - DEMO_PRIOR_SCALE)) / 2, width: r.box.width * DEMO_PRIOR_SCALE, height: r.box.height * DEMO_PRIOR_SCALE } }
          : {}),
      })),
      ...(f.extent ? { extent: { firstSopInstanceUID: priorSop(f.extent.firstSopInstanceUID), lastSopInstanceUID: priorSop(f.extent.lastSopInstanceUID) } } : {}),
    }));
}

/** Reads and signs the prior once: its findings accepted by the demo reader, a report from them, sign-off (SR and ORU through the outbox). */
export async function seedDemoPrior(db: Kysely<DB>): Promise<'signed' | 'already'> {
  if (await db.selectFrom('study_signoffs').select('study_uid').where('study_uid', '=', DEMO_PRIOR_STUDY).executeTakeFirst()) return 'already';
  const reader = { id: 0, username: 'rita', displayName: 'Reader^Rita^^Dr.', role: 'radiologist' as const };
  const findings = demoPriorFindings();
  await ingest({ db }, { studyUID: DEMO_PRIOR_STUDY, source: 'fixture', actor: { username: 'fixture' }, findings });
  const at = '2026-05-01T10:00:00.000Z';
  for (const f of await findingsForStudy(db, DEMO_PRIOR_STUDY)) if (f.status === 'ai-unverified') await recordVerdict(db, f.id, { action: 'accept' }, { username: reader.username, role: reader.role }, at);
  const draft = acceptAll(draftFromFindings(await findingsForStudy(db, DEMO_PRIOR_STUDY), 'head-ct-haemorrhage'));
  await saveDraft(db, DEMO_PRIOR_STUDY, { ...draft, comments: 'Demo prior: the shared head CT slices dated 2026-05-01; its haemorrhages recorded at 2/3 of the current size.' }, reader.username, at);
  const out = await signOff({ db }, { studyUID: DEMO_PRIOR_STUDY, user: reader, confirmUnverified: true });
  if (!out.ok) throw new Error(`demo prior sign-off: ${out.error}`);
  return 'signed';
}
