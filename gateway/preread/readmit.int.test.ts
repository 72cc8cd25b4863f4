/**
 * Lifting an AI control reads what the control held back, and a modality switch hides what a study
 * switch hides. Real Orthanc, DCMTK storescu and the real pre-read (head CT model in worker threads):
 *  - a study whose AI was disabled when it arrived is read when AI is enabled again (it no longer stays
 *    'skipped'); the same for a study that arrived while its modality was switched off;
 *  - switching the modality off hides the job's findings count from every role, as the study switch does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, waitFor as sharedWaitFor, type Stack, type Client } from '../../test/harness.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from './study-builder.js';

const waitFor = <T,>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000) => sharedWaitFor(what, fn, timeoutMs, 150);

type Preread = { aiState: string; priority: string | null; reason: string | null; jobs: { model: string; state: string; findingsCount: number | null }[]; routing: { model: string; decision: string; reason: string }[] };

let stack: Stack;
const c: Record<string, Client> = {};
const READERS = ['rita', 'remy', 'erin', 'toby', 'ada'] as const;
const built: BuiltStudy[] = [];
const peer = () => ({ port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
const put = (client: Client, p: string, body: unknown) => client.fetch(p, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const prereadOf = async (uid: string, user = 'rita'): Promise<Preread | null> => {
  const r = await c[user].fetch(`/api/studies/${uid}/preread`);
  return r.ok ? ((await r.json()) as Preread) : null;
};
const audited = async (uid: string, action: string) => (await stack.gateway.store.db.selectFrom('audit').select('detail').where('study_uid', '=', uid).where('action', '=', action).execute()).map((a) => JSON.parse(a.detail ?? '{}'));

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  process.env.PREREAD_TIMEOUT_MS = '120000';
  stack = await startStack();
  for (const u of READERS) c[u] = await login(stack.baseUrl, u);
});

afterAll(async () => {
  await stack?.stop();
  for (const s of built) s.remove();
});

describe('lifting an AI control reads the study it held back', () => {
  it('AI disabled for a study when it arrived: no job; enabling AI starts its pre-read', async () => {
    const study = await buildHeadCtStudy({ patientAge: '052Y', lesions: true });
    built.push(study);
    const uid = study.studyInstanceUID;
    expect((await c.rita.post(`/api/studies/${uid}/ai-disabled`, { reason: 'patient-declined' })).status).toBe(201);
    await cStore(study.files, peer());
    const held = await waitFor('arrived, AI disabled', async () => {
      const p = await prereadOf(uid);
      return p?.aiState === 'disabled' ? p : null;
    });
    expect(held.jobs).toEqual([]);
    expect(held.routing.every((r) => r.decision === 'skip' && /AI disabled for this study by rita/.test(r.reason))).toBe(true);
    // It stays held back while disabled (several feed polls later, still no job).
    await new Promise((r) => setTimeout(r, 1000));
    expect((await prereadOf(uid))!.jobs).toEqual([]);

    expect((await c.rita.fetch(`/api/studies/${uid}/ai-disabled`, { method: 'DELETE' })).status).toBe(200);
    const read = await waitFor('read after enabling', async () => {
      const p = await prereadOf(uid);
      return p?.aiState === 'done' ? p : null;
    });
    expect(read.jobs.map((j) => j.state)).toEqual(['done']);
    expect(read.jobs[0].findingsCount).toBeGreaterThan(0);
    expect(read.priority).toBe('critical');
    expect((await audited(uid, 'preread-study-readmitted')).map((d) => d.queued)).toEqual([['head-ct-hyperdensity']]);
  });

  it('modality switched off when the study arrived: switching it back on starts the pre-read', async () => {
    expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: ['CT'] })).status).toBe(200);
    try {
      const study = await buildHeadCtStudy({ patientAge: '061Y', slices: 3 });
      built.push(study);
      const uid = study.studyInstanceUID;
      await cStore(study.files, peer());
      const held = await waitFor('arrived, modality off', async () => {
        const p = await prereadOf(uid);
        return p?.aiState === 'disabled' ? p : null;
      });
      expect(held.jobs).toEqual([]);
      expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: [] })).status).toBe(200);
      const read = await waitFor('read after the modality is back', async () => {
        const p = await prereadOf(uid);
        return p?.jobs.length && p.jobs.every((j) => j.state === 'done') ? p : null;
      });
      expect(read.aiState).toBe('done');
    } finally {
      await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: [] });
    }
  });
});

describe('AI switched off for a modality hides what the study switch hides', () => {
  it("the job's findings count is null for every role while CT is off, and back when it is on", async () => {
    const study = await buildHeadCtStudy({ patientAge: '047Y', lesions: true });
    built.push(study);
    const uid = study.studyInstanceUID;
    await cStore(study.files, peer());
    const read = await waitFor('read', async () => {
      const p = await prereadOf(uid);
      return p?.aiState === 'done' ? p : null;
    });
    const count = read.jobs[0].findingsCount;
    expect(count).toBeGreaterThan(0);
    try {
      expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: ['CT'] })).status).toBe(200);
      for (const u of READERS) expect((await prereadOf(uid, u))!.jobs.map((j) => j.findingsCount), u).toEqual([null]);
      // Another modality switched off leaves this CT's count visible.
      expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: ['MR'] })).status).toBe(200);
      expect((await prereadOf(uid))!.jobs.map((j) => j.findingsCount)).toEqual([count]);
    } finally {
      await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: [] });
    }
    expect((await prereadOf(uid))!.jobs.map((j) => j.findingsCount)).toEqual([count]);
  });
});
