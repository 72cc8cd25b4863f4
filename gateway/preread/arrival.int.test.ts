/**
 * Reading while the study arrives (issue 18 item 1), against a real Orthanc (StableAge 1 s), real DCMTK
 * storescu and the real model in real worker threads. The shared head CT's 28 slices (new UIDs, the
 * model's held-out synthetic lesions painted in) are C-STOREd one at a time, in a shuffled order, with
 * pauses shorter than StableAge: the study is not stable until the last one has been in for a second.
 * The critical flag must come while slices are still being sent; the study's final result must equal
 * a whole-study read of the same files; every instance is read exactly once, also when a series is
 * added after the study was stable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { waitFor } from '../../test/harness.js';
import { buildHeadCtStudy, cStore } from './study-builder.js';
import { findingsForStudy } from '../findings/repository.js';
import { handleInbound } from '../mllp/listener.js';
import { inferStudy, readDicomSlice } from '../ai/runtime.js';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';
import { sortSlices } from './slices.js';
import type { StudyPreread } from './service.js';
import type { Finding } from '../../src/core/findings/finding.js';
import path from 'node:path';
// @ts-ignore dcmjs has no type declarations
import * as dcmjsNs from 'dcmjs';

type Dcmjs = { data: { DicomMessage: { readFile(b: ArrayBuffer): { dict: object } }; DicomMetaDictionary: { naturalizeDataset(d: object): Record<string, unknown> } } };
const dcmjs: Dcmjs = (dcmjsNs as unknown as Dcmjs).data ? (dcmjsNs as unknown as Dcmjs) : (dcmjsNs as unknown as { default: Dcmjs }).default;

let stack: Stack;
let rita: Client;

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '100';
  process.env.PREREAD_TIMEOUT_MS = '120000';
  stack = await startStack();
  rita = await login(stack.baseUrl, 'rita');
});

afterAll(async () => {
  await stack?.stop();
});

/** A seeded shuffle (mulberry32): the same "out of order" every run. */
function shuffled<T>(xs: T[], seed: number): T[] {
  const a = [...xs];
  let t = seed;
  const rnd = () => {
    t = (t + 0x6d2b79f5) | 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** What a finding says, without when and how fast it was computed. */
const essence = (f: Finding) => ({ id: f.id, type: f.type, confidence: f.confidence, severity: f.severity, regions: f.regions, extent: f.extent ?? null });

describe('pre-read while the study arrives', () => {
  it('C-STORE one slice at a time, out of order: flagged before the study is stable, final result = whole-study read, each instance read once; a series added later is read alone', async () => {
    const study = await buildHeadCtStudy({ patientAge: '045Y', lesions: true });
    const extra = await buildHeadCtStudy({ patientAge: '045Y', studyInstanceUID: study.studyInstanceUID, slices: 4, firstSlice: 10 });
    const db = stack.gateway.store.db;
    const peer = { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet };
    const state = (uid: string) => rita.fetch(`/api/studies/${uid}/preread`).then(async (r) => (r.ok ? ((await r.json()) as StudyPreread) : null));
    try {
      // Slice 09 carries a held-out lesion: sent early in an otherwise shuffled order, so many slices come after it.
      const rest = shuffled(study.files.filter((f) => !f.endsWith('09.dcm')), 18);
      const order = [...rest.slice(0, 3), study.files.find((f) => f.endsWith('09.dcm'))!, ...rest.slice(3)];
      let flaggedWhileSending: { sent: number; stable: boolean } | null = null;
      let sent = 0;
      const watch = (async () => {
        while (!flaggedWhileSending) {
          const t = await rita.json<{ studies: Record<string, { priority: string }> }>('/api/triage');
          if (t.studies[study.studyInstanceUID]?.priority === 'critical') {
            const o = (await (await stack.orthanc.rest('/tools/lookup', { method: 'POST', body: study.studyInstanceUID })).json()) as { ID: string }[];
            const info = (await (await stack.orthanc.rest(`/studies/${o[0].ID}`)).json()) as { IsStable: boolean };
            flaggedWhileSending = { sent, stable: info.IsStable };
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      for (const f of order) {
        await cStore([f], peer);
        sent++;
        // Shorter than StableAge (1 s): Orthanc sees one study still arriving.
        await new Promise((r) => setTimeout(r, 150));
      }
      await Promise.race([watch, new Promise((r) => setTimeout(r, 20_000))]);
      expect(flaggedWhileSending, 'no critical flag within 20 s of the last slice').not.toBeNull();
      const flagged = flaggedWhileSending! as { sent: number; stable: boolean };
      // Raised while slices were still being sent: before the complete study could be stable (on a
      // loaded machine a pause between two sends can exceed StableAge, so Orthanc's IsStable of the
      // partial study is not asserted).
      expect(flagged.sent).toBeLessThan(order.length);
      const early = await db.selectFrom('audit').select('detail').where('study_uid', '=', study.studyInstanceUID).where('action', '=', 'preread-early-flag').execute();
      expect(early.length).toBeGreaterThan(0);

      const done = await waitFor('final result', async () => {
        const s = await state(study.studyInstanceUID);
        return s && s.aiState === 'done' && s.jobs.length === 1 && s.jobs[0].state === 'done' ? s : null;
      }, 90_000, 200);
      expect(done.priority).toBe('critical');
      expect(done.jobs[0].outcome).toBeNull(); // the shared head CT is inside the model's domain

      // The final result is exactly what one whole-study read of the same files gives.
      const slices = sortSlices(
        study.files.map((f) => {
          const bytes = fs.readFileSync(f);
          const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)).dict);
          return { ...readDicomSlice(bytes), instanceNumber: Number(ds.InstanceNumber), imagePositionPatient: (ds.ImagePositionPatient as number[]).map(Number), imageOrientationPatient: (ds.ImageOrientationPatient as number[]).map(Number) };
        }),
      );
      const whole = await inferStudy({ manifestDir: path.join(REPO_ROOT, 'models', 'head-ct-hyperdensity'), studyInstanceUID: study.studyInstanceUID, slices, source: 'preread' });
      const stored = (await findingsForStudy(db, study.studyInstanceUID)).filter((f) => f.source === 'preread');
      expect(stored.map(essence).sort((a, b) => a.id.localeCompare(b.id))).toEqual(whole.findings.map(essence).sort((a, b) => a.id.localeCompare(b.id)));
      expect(done.jobs[0].findingsCount).toBe(whole.findings.length);
      // Each carries the model's class map on each of its slices: its explanation, as in the browser.
      expect(stored.every((f) => JSON.stringify(f.heatmaps?.map((h) => h.image.sopInstanceUID)) === JSON.stringify(f.regions.map((r) => r.image.sopInstanceUID)))).toBe(true);

      // Each instance was given to a worker once; one job; one "finished".
      const reads = await db.selectFrom('preread_slices').select(['sop_uid', 'reads', 'state']).where('study_uid', '=', study.studyInstanceUID).execute();
      expect(reads).toHaveLength(28);
      expect(reads.every((r) => r.reads === 1 && r.state === 'done')).toBe(true);
      const finished = await db.selectFrom('audit').select('detail').where('study_uid', '=', study.studyInstanceUID).where('action', '=', 'preread-inference-finished').execute();
      expect(finished).toHaveLength(1);

      // A series added after the study was stable: read as it arrives (4 new reads), the first 28 not again.
      await cStore(extra.files, peer);
      await waitFor('re-read of the changed study', async () => {
        const s = await state(study.studyInstanceUID);
        return s && s.jobs.length === 2 && s.jobs.every((j) => j.state === 'done') ? s : null;
      }, 60_000, 200);
      // The added series is read as it arrives, apart from the job (which reads the largest series).
      await waitFor('the added series read', async () => (await db.selectFrom('preread_slices').select('state').where('series_uid', '=', extra.seriesInstanceUID).execute()).filter((r) => r.state === 'done').length === 4, 60_000, 200);
      const after = await db.selectFrom('preread_slices').select(['sop_uid', 'series_uid', 'reads', 'state']).where('study_uid', '=', study.studyInstanceUID).execute();
      expect(after).toHaveLength(32);
      expect(after.filter((r) => r.series_uid === extra.seriesInstanceUID)).toHaveLength(4);
      expect(after.every((r) => r.reads === 1 && r.state === 'done')).toBe(true);
      expect(new Set(after.map((r) => r.sop_uid)).size).toBe(32);
    } finally {
      study.remove();
      extra.remove();
    }
  }, 180_000);

  it('a study refused at stability (the order names a contraindication after a slice flagged it): the early flag is withdrawn, kept as superseded, the study unflagged', async () => {
    const accession = `ACCW${Date.now()}`;
    const study = await buildHeadCtStudy({ patientAge: '061Y', lesions: true, accessionNumber: accession });
    const db = stack.gateway.store.db;
    const peer = { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet };
    const state = (uid: string) => rita.fetch(`/api/studies/${uid}/preread`).then(async (r) => (r.ok ? ((await r.json()) as StudyPreread) : null));
    try {
      const lesion = study.files.find((f) => f.endsWith('09.dcm'))!;
      const rest = study.files.filter((f) => f !== lesion);
      await cStore([lesion, ...rest.slice(0, 2)], peer);
      await waitFor('early flag', async () => (await db.selectFrom('audit').select('action').where('study_uid', '=', study.studyInstanceUID).where('action', '=', 'preread-early-flag').execute()).length > 0, 60_000, 100);
      const early = (await findingsForStudy(db, study.studyInstanceUID)).filter((f) => f.source === 'preread');
      expect(early.length).toBeGreaterThan(0);
      expect((await rita.json<{ studies: Record<string, { priority: string }> }>('/api/triage')).studies[study.studyInstanceUID]?.priority).toBe('critical');

      // The RIS's order arrives while the rest of the study is still being sent: post-operative head.
      const obr = Array.from({ length: 32 }, () => '');
      Object.assign(obr, { 0: 'OBR', 1: '1', 2: 'PLW1', 4: 'CTHEAD^CT head without contrast^L', 18: accession, 31: '^Post-operative head, drain check' });
      const orm = ['MSH|^~\\&|RIS|HOSP|RS|RS|20261207103000||ORM^O01|MSG' + accession + '|P|2.5.1', 'PID|1||PIDW^^^HOSP||Doe^Jane', 'ORC|NW|PLW1|||||||20261207103000', obr.join('|')].join('\r');
      expect((await handleInbound(db, orm, null)).code).toBe('AA');
      await cStore(rest.slice(2), peer);

      const s = await waitFor('judged at stability', async () => {
        const x = await state(study.studyInstanceUID);
        return x && x.routing.find((r) => r.model === 'head-ct-hyperdensity')?.decision === 'skip' && x.priority === 'none' ? x : null;
      }, 90_000, 200);
      expect(s.routing.find((r) => r.model === 'head-ct-hyperdensity')?.reason).toBe('contraindicated by order: post-operative head');
      expect(s.jobs).toHaveLength(0);
      // No finding stands that the study's own judgement would not give; the early ones are kept, visible as superseded.
      expect((await findingsForStudy(db, study.studyInstanceUID)).filter((f) => f.source === 'preread')).toEqual([]);
      // (Kept in the superseded record; the findings API shows readers none of it: the model is outside this study's indication.)
      const sup = await db.selectFrom('findings_superseded').select(['finding_id', 'superseded_by']).where('study_uid', '=', study.studyInstanceUID).execute();
      // Every early flag (those seen above and any a later slice raised before stability), none lost.
      expect(sup.map((x) => x.finding_id)).toEqual(expect.arrayContaining(early.map((f) => f.id)));
      expect(sup.every((x) => x.superseded_by === 'preread')).toBe(true);
      expect((await rita.json<{ studies: Record<string, { priority: string }> }>('/api/triage')).studies[study.studyInstanceUID]?.priority ?? 'none').toBe('none');
      const withdrawn = await db.selectFrom('audit').select('detail').where('study_uid', '=', study.studyInstanceUID).where('action', '=', 'preread-early-withdrawn').execute();
      expect(withdrawn).toHaveLength(1);
      expect(JSON.parse(withdrawn[0].detail!)).toMatchObject({ model: 'head-ct-hyperdensity', reason: 'contraindicated by order: post-operative head' });
      expect([...(JSON.parse(withdrawn[0].detail!) as { findings: string[] }).findings].sort()).toEqual(sup.map((x) => x.finding_id).sort());
      // Slices read after the judgement flag nothing more.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await findingsForStudy(db, study.studyInstanceUID)).filter((f) => f.source === 'preread')).toEqual([]);
    } finally {
      study.remove();
    }
  }, 180_000);

  it('two eligible series, the flag on the smaller one: the final job reads the larger series and the smaller series\' flags stand', async () => {
    const large = await buildHeadCtStudy({ patientAge: '052Y' });
    const small = await buildHeadCtStudy({ patientAge: '052Y', studyInstanceUID: large.studyInstanceUID, slices: 10, lesions: true });
    const db = stack.gateway.store.db;
    const peer = { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet };
    const uid = large.studyInstanceUID;
    const state = () => rita.fetch(`/api/studies/${uid}/preread`).then(async (r) => (r.ok ? ((await r.json()) as StudyPreread) : null));
    try {
      await cStore([...large.files, ...small.files], peer);
      const done = await waitFor('final result', async () => {
        const s = await state();
        return s && s.aiState === 'done' && s.jobs.length === 1 && s.jobs[0].state === 'done' ? s : null;
      }, 90_000, 200);
      // The job read the largest eligible series, where nothing was painted.
      expect(done.routing.find((r) => r.model === 'head-ct-hyperdensity')?.seriesInstanceUID).toBe(large.seriesInstanceUID);
      expect(done.jobs[0].findingsCount).toBe(0);
      const early = await db.selectFrom('audit').select('detail').where('study_uid', '=', uid).where('action', '=', 'preread-early-flag').execute();
      expect(early.length).toBeGreaterThan(0);
      expect(early.every((e) => (JSON.parse(e.detail!) as { series: string }).series === small.seriesInstanceUID)).toBe(true);
      // Its complete result is complete for the series it read: the other series' flags are not superseded by it.
      const live = (await findingsForStudy(db, uid)).filter((f) => f.source === 'preread');
      expect(live.length).toBeGreaterThan(0);
      expect(live.every((f) => f.regions.every((r) => r.image.seriesInstanceUID === small.seriesInstanceUID))).toBe(true);
      expect(await db.selectFrom('findings_superseded').select('finding_id').where('study_uid', '=', uid).execute()).toEqual([]);
      expect(done.priority).toBe('critical');
    } finally {
      large.remove();
      small.remove();
    }
  }, 180_000);
});
