/**
 * A failing model: retried with back-off, then marked failed visibly, while the other model on the
 * same study and other studies go on. The broken model is a copy of the real head CT manifest with a
 * corrupt model file (the runtime refuses it: checksum mismatch), installed in a temp models dir
 * beside the real head CT model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';
import { buildHeadCtStudy, cStore } from './study-builder.js';
import type { StudyPreread } from './service.js';
import { waitFor as sharedWaitFor } from '../../test/harness.js';

let stack: Stack;
let rita: Client;
let modelsDir: string;

const waitFor = <T,>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000, everyMs = 200) =>
  sharedWaitFor(what, fn, timeoutMs, everyMs);

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  process.env.PREREAD_BACKOFF_MS = '300';
  process.env.PREREAD_MAX_ATTEMPTS = '3';
  modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-models-'));
  const real = path.join(REPO_ROOT, 'models', 'head-ct-hyperdensity');
  fs.cpSync(real, path.join(modelsDir, 'head-ct-hyperdensity'), { recursive: true });
  const broken = path.join(modelsDir, 'broken-ct');
  fs.mkdirSync(broken);
  const manifest = JSON.parse(fs.readFileSync(path.join(real, 'manifest.json'), 'utf8'));
  manifest.name = 'broken-ct';
  manifest.files.sha256 = 'a'.repeat(64);
  fs.writeFileSync(path.join(broken, 'manifest.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(broken, manifest.files.model), Buffer.from('not an onnx model'));
  stack = await startStack({ config: { modelsDir } });
  rita = await login(stack.baseUrl, 'rita');
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(modelsDir, { recursive: true, force: true });
  delete process.env.PREREAD_BACKOFF_MS;
  delete process.env.PREREAD_MAX_ATTEMPTS;
});

describe('a failing model', () => {
  it('is retried with back-off, then marked failed, without blocking the other model or other studies', async () => {
    const a = await buildHeadCtStudy({ patientAge: '055Y', slices: 4, firstSlice: 8 });
    const b = await buildHeadCtStudy({ patientAge: '065Y', slices: 4, firstSlice: 12 });
    const state = (uid: string) => rita.fetch(`/api/studies/${uid}/preread`).then(async (r) => (r.ok ? ((await r.json()) as StudyPreread) : null));
    try {
      await cStore(a.files, { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
      await cStore(b.files, { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
      for (const s of [a, b]) {
        const st = await waitFor('both jobs settled', async () => {
          const x = await state(s.studyInstanceUID);
          return x && x.jobs.length === 2 && x.jobs.every((j) => j.state === 'done' || j.state === 'failed') ? x : null;
        });
        const broken = st.jobs.find((j) => j.model === 'broken-ct')!;
        expect(broken).toMatchObject({ state: 'failed', attempts: 3 });
        expect(broken.lastError).toMatch(/sha256/);
        expect(st.jobs.find((j) => j.model === 'head-ct-hyperdensity')).toMatchObject({ state: 'done', attempts: 0 });
        // One model succeeded: the study is read ("done"); the failure stays visible on its job.
        expect(st.aiState).toBe('done');
      }
      const fails = await stack.gateway.store.db.selectFrom('audit').select(['detail', 'outcome']).where('action', '=', 'preread-inference-failed').where('study_uid', '=', a.studyInstanceUID).orderBy('seq').execute();
      expect(fails.map((f) => JSON.parse(f.detail!).attempt)).toEqual([1, 2, 3]);
      expect(fails.map((f) => JSON.parse(f.detail!).final)).toEqual([false, false, true]);
      expect(fails[2].outcome).toBe(8);
      // Back-off: attempts are spaced by at least the base delay, doubling.
      const jobs = await stack.gateway.store.db.selectFrom('preread_jobs').selectAll().where('study_uid', '=', a.studyInstanceUID).where('model', '=', 'broken-ct').execute();
      expect(jobs).toHaveLength(1);
      const audits = await stack.gateway.store.db.selectFrom('audit').select(['at', 'action', 'detail']).where('study_uid', '=', a.studyInstanceUID).where('action', 'in', ['preread-inference-started', 'preread-inference-failed']).orderBy('seq').execute();
      const broken = audits.filter((x) => JSON.parse(x.detail!).model === 'broken-ct');
      expect(broken.map((x) => x.action)).toEqual(['started', 'failed', 'started', 'failed', 'started', 'failed'].map((s) => `preread-inference-${s}`));
      const t = broken.map((x) => Date.parse(x.at));
      // Back-off: the n-th retry waits at least base·2^(n-1) after the n-th failure (300 ms, 600 ms).
      expect(t[2] - t[1]).toBeGreaterThanOrEqual(280);
      expect(t[4] - t[3]).toBeGreaterThanOrEqual(580);
    } finally {
      a.remove();
      b.remove();
    }
  });
});
