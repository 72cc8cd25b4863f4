/**
 * Intensity drift end to end against a real Orthanc, the real gateway and the real head CT model: the
 * pre-read of an arriving head CT keeps each slice's HU histogram with its output, governance sums them
 * once per study and model, the drift figures carry the study's distribution, and a week whose
 * intensities differ from the earlier weeks' beyond the configured distance becomes a notice for admin
 * and governance (with its audit record) through the same rules as every other drift measure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, waitFor, type Stack, type Client } from '../../test/harness.js';
import { headCtFiles } from '../../scripts/lib/demo-data.js';
import { HU_BINS, type DriftRow } from '../../src/core/governance/drift.js';
import { DEFAULT_ALERT_RULES } from '../../src/core/governance/rules.js';
import type { Notice } from './alerts.js';

const HEAD_CT = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
let stack: Stack;
let gus: Client;

beforeAll(async () => {
  stack = await startStack({ files: headCtFiles().slice(10, 13) });
  gus = await login(stack.baseUrl, 'gus');
});
afterAll(async () => {
  await stack?.stop();
});

describe('intensity drift', () => {
  it("the pre-read's slice histograms become the study's intensity; a shifted week is noticed", async () => {
    const db = stack.gateway.store.db;
    const job = await waitFor(
      'the head CT pre-read to finish',
      async () => db.selectFrom('preread_jobs').selectAll().where('study_uid', '=', HEAD_CT).where('state', '=', 'done').executeTakeFirst(),
      120_000,
      500,
    );
    // Each slice the model read kept its histogram: every pixel of the slice in one bin.
    const slices = await db.selectFrom('preread_slices').select(['result']).where('study_uid', '=', HEAD_CT).where('model', '=', job.model).where('state', '=', 'done').execute();
    expect(slices.length).toBe(3);
    const perSlice = slices.map((s) => JSON.parse(s.result!) as { huHistogram: number[]; columns: number; rows: number });
    for (const s of perSlice) {
      expect(s.huHistogram.length).toBe(HU_BINS.length);
      expect(s.huHistogram.reduce((a, b) => a + b, 0)).toBe(s.columns * s.rows);
    }

    const drift = await gus.json<{ rows: DriftRow[] }>('/api/governance/drift');
    const row = drift.rows.find((r) => r.model === job.model && r.version === job.model_version)!;
    expect(row.intensity!.n).toBe(1);
    // The study's distribution is the sum of its slices', normalised.
    const sum = HU_BINS.map((_, i) => perSlice.reduce((a, s) => a + s.huHistogram[i], 0));
    const total = sum.reduce((a, b) => a + b, 0);
    HU_BINS.forEach((b, i) => expect(row.intensity!.histogram[b] ?? 0).toBeCloseTo(sum[i] / total, 9));
    expect(row.intensity!.histogram['<-900']).toBeGreaterThan(0.1); // air around the head
    const stored = await db.selectFrom('governance_intensity').selectAll().where('study_uid', '=', HEAD_CT).where('model', '=', job.model).executeTakeFirstOrThrow();
    expect(JSON.parse(stored.histogram!)).toEqual(sum);
    expect(stored.slices).toBe(3);

    // Two weeks earlier the same model version read a study that was all water (a phantom): this week is far from it.
    const past = new Date(Date.now() - 14 * 86_400_000).toISOString();
    const other = '1.2.826.0.1.3680043.9.4245.999';
    await db
      .insertInto('preread_jobs')
      .values({ id: 'gov-drift-past', study_uid: other, model: job.model, model_version: job.model_version, fingerprint: 'f', payload: '{}', state: 'done', attempts: 1, next_at: past, last_error: null, created_at: past, started_at: past, finished_at: past, findings_count: 0, provider: 'cpu', duration_ms: 1, claimed_by: null, lease_until: null, outcome: null })
      .execute();
    await db.insertInto('governance_intensity').values({ study_uid: other, model: job.model, histogram: JSON.stringify(HU_BINS.map((b) => (b === '-20..20' ? 1000 : 0))), slices: 1, recorded_at: past }).execute();
    const rows = (await gus.json<{ rows: DriftRow[] }>('/api/governance/drift')).rows.filter((r) => r.model === job.model && r.version === job.model_version);
    const now = rows.at(-1)!;
    expect(now.intensity!.referenceN).toBe(1);
    expect(now.intensity!.distance!).toBeGreaterThan(0.5);

    // The rules judge it: too few studies by default, a notice once a single study is enough.
    const put = (rules: unknown, baseVersion: number) => gus.fetch('/api/governance/rules', { method: 'PUT', body: JSON.stringify({ rules, baseVersion }), headers: { 'content-type': 'application/json' } });
    const base = (await gus.json<{ version: number }>('/api/governance/rules')).version;
    expect((await put({ ...DEFAULT_ALERT_RULES, minSample: 1, driftMaxDistance: 0.5 }, base)).status).toBe(200);
    const notices = (await gus.json<{ notices: Notice[] }>('/api/governance/notices')).notices.filter((n) => n.model === job.model && n.metric === 'intensityDrift');
    expect(notices.map((n) => n.week)).toEqual([now.week]);
    expect(notices[0].message).toContain('input intensity histogram drifted');
    const audit = await db.selectFrom('audit').select(['detail']).where('action', '=', 'governance-alert-raised').execute();
    const raised = audit.map((a) => JSON.parse(a.detail!) as { metric: string; model: string; notified: string[] }).filter((d) => d.metric === 'intensityDrift' && d.model === job.model);
    expect(raised.length).toBe(1);
    expect(raised[0].notified).toEqual(expect.arrayContaining(['admin', 'ai-governance']));

    const csv = await (await gus.fetch('/api/governance/drift.csv')).text();
    const [head, ...lines] = csv.trim().split('\n');
    const cols = head.split(',');
    const line = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]))).find((r) => r.model === job.model && r.week === now.week)!;
    expect(Number(line.intensity_distance)).toBeCloseTo(now.intensity!.distance!, 4);
    expect(line['intensity_hu_-20..20']).toBe(String(Math.round(now.intensity!.histogram['-20..20'] * 10_000) / 10_000));
  });
});
