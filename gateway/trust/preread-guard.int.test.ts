/**
 * AI disable and the indication guard reach the pre-read: a study that arrives (real C-STORE with
 * DCMTK storescu into a real Orthanc) while AI is disabled for it, or for its modality, or that is
 * outside every model's indication (a 9-year-old's head CT, adult-only model) gets no job in the
 * job table; a control study with nothing switched off does. Uses the real pre-read service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { buildHeadCtStudy, cStore, newUid } from '../preread/study-builder.js';
import { waitFor as sharedWaitFor } from '../../test/harness.js';
import { execFileSync } from 'node:child_process';

let stack: Stack;
let rita: Client, ada: Client;
const peer = () => ({ port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });

const waitFor = <T,>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 90_000, everyMs = 250) =>
  sharedWaitFor(what, fn, timeoutMs, everyMs);

async function arrive(opts: { patientAge: string; studyInstanceUID?: string }, edits: Record<string, string> = {}) {
  const study = await buildHeadCtStudy({ ...opts, slices: 3 });
  if (Object.keys(edits).length) execFileSync('dcmodify', ['-nb', ...Object.entries(edits).flatMap(([t, v]) => ['-i', `${t}=${v}`]), ...study.files], { stdio: 'pipe' });
  try {
    await cStore(study.files, peer());
  } finally {
    study.remove();
  }
  const db = stack.gateway.store.db;
  const row = await waitFor('the pre-read to see the study', () => db.selectFrom('preread_studies').selectAll().where('study_uid', '=', study.studyInstanceUID).executeTakeFirst());
  const jobs = await db.selectFrom('preread_jobs').select(['model', 'state']).where('study_uid', '=', study.studyInstanceUID).execute();
  return { uid: study.studyInstanceUID, row, jobs };
}

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  stack = await startStack();
  [rita, ada] = await Promise.all(['rita', 'ada'].map((u) => login(stack.baseUrl, u)));
});
afterAll(async () => stack?.stop());

describe('no inference runs where AI is disabled or outside the indication (job table)', () => {
  it('study disabled before it arrives → no job, state disabled, reason recorded', async () => {
    const uid = newUid();
    expect((await rita.post(`/api/studies/${uid}/ai-disabled`, { reason: 'research-protocol' })).status).toBe(201);
    const { row, jobs } = await arrive({ patientAge: '045Y', studyInstanceUID: uid });
    expect(jobs).toEqual([]);
    expect(row.ai_override).toBe('disabled');
    expect(row.reason).toContain('Research protocol');
  });

  it('modality CT disabled → no job; switched back on → the next CT study gets its job', async () => {
    expect((await ada.fetch('/api/admin/ai-disabled-modalities', { method: 'PUT', body: JSON.stringify({ modalities: ['CT'] }), headers: { 'content-type': 'application/json' } })).status).toBe(200);
    const off = await arrive({ patientAge: '045Y' });
    expect(off.jobs).toEqual([]);
    expect(off.row.reason).toContain('modality CT');
    expect((await ada.fetch('/api/admin/ai-disabled-modalities', { method: 'PUT', body: JSON.stringify({ modalities: [] }), headers: { 'content-type': 'application/json' } })).status).toBe(200);
    const on = await arrive({ patientAge: '045Y' });
    expect(on.jobs.map((j) => j.model)).toContain('head-ct-hyperdensity');
  });

  it('a 9-year-old head CT is not run by the adult-only model, and ai-status says why', async () => {
    const child = await arrive({ patientAge: '009Y' });
    expect(child.jobs.filter((j) => j.model === 'head-ct-hyperdensity')).toEqual([]);
    const st = await rita.json<{ patientAgeYears: number; models: { name: string; state: string; reason?: string }[] }>(`/api/studies/${child.uid}/ai-status`);
    expect(st.patientAgeYears).toBe(9);
    const m = st.models.find((x) => x.name === 'head-ct-hyperdensity')!;
    expect(m.state).toBe('outside-indication');
    expect(m.reason).toMatch(/age 9 < \d+/);
  });

  it('a CT perfusion map (ImageType DERIVED\\SECONDARY\\PERFUSION) of an adult head gets no job; ai-status gives the routing reason word for word', async () => {
    const map = await arrive({ patientAge: '045Y' }, { '(0008,0008)': 'DERIVED\\SECONDARY\\PERFUSION' });
    expect(map.jobs).toEqual([]);
    const routed = (JSON.parse(map.row.routing) as { model: string; decision: string; reason: string }[]).find((r) => r.model === 'head-ct-hyperdensity')!;
    expect(routed).toMatchObject({ decision: 'skip', reason: 'outside input domain: image type DERIVED\\SECONDARY\\PERFUSION is not ORIGINAL\\PRIMARY' });
    const st = await rita.json<{ models: { name: string; state: string; reason?: string; eligible: boolean; eligibilityReason: string | null }[] }>(`/api/studies/${map.uid}/ai-status`);
    expect(st.models.find((x) => x.name === 'head-ct-hyperdensity')).toMatchObject({ state: 'outside-indication', eligible: false, reason: routed.reason, eligibilityReason: routed.reason });
  });
});
