/**
 * The demo prior (scripts/demo-prior.ts, loaded by `npm start`): built from the shared head CT slices, read and
 * signed with its haemorrhages at 2/3 of the fixture's size. Once the reader accepts the current study's two
 * haemorrhages, the comparison names the prior and gives +50 % for each (sizes from box and pixel spacing);
 * the fracture without geometry is persistent. Fails if the prior is not found, not relevant, or its numbers change.
 */
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { headCtFiles } from '../../scripts/lib/demo-data.js';
import { uploadFiles } from '../../scripts/lib/orthanc.js';
import { seedDemoFindings } from '../../scripts/seed-demo-findings.js';
import { DEMO_PRIOR_STUDY, prepareDemoPrior, seedDemoPrior } from '../../scripts/demo-prior.js';

let stack: Stack;
let rita: Client;
let prevPreread: string | undefined;
const CURRENT = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';

beforeAll(async () => {
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  stack = await startStack({ files: headCtFiles() });
  await uploadFiles(stack.orthanc, prepareDemoPrior(path.join(stack.tmp, 'demo-prior')));
  await seedDemoFindings(stack.gateway.store.db);
  expect(await seedDemoPrior(stack.gateway.store.db)).toBe('signed');
  expect(await seedDemoPrior(stack.gateway.store.db)).toBe('already');
  rita = await login(stack.baseUrl, 'rita');
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

describe('demo prior', () => {
  it('is the relevant prior of the demo head CT, signed, and gives +50 % for each accepted haemorrhage', async () => {
    for (const id of ['fixture-ct-ich-1', 'fixture-ct-ich-2', 'fixture-ct-fracture-1']) expect((await rita.post(`/api/findings/${id}/verdict`, { action: 'accept' })).status).toBe(200);
    const r = await rita.json<{ priors: { studyUID: string; date: string; relevant: boolean }[]; comparison: { studyUID: string; report: string | null; changes: { kind: string; pct?: number; label: string; sentence: string }[] } | null }>(`/api/studies/${CURRENT}/priors`);
    expect(r.priors.map((p) => [p.studyUID, p.date, p.relevant])).toEqual([[DEMO_PRIOR_STUDY, '2026-05-01', true]]);
    expect(r.comparison?.report).toMatch(/Demo prior/);
    const sized = r.comparison!.changes.filter((c) => c.kind === 'larger');
    expect(sized.map((c) => c.pct)).toEqual([50, 50]);
    for (const c of sized) expect(c.sentence).toMatch(/^Intracranial hemorrhage \d+(\.\d)? mm → \d+(\.\d)? mm, \+50 % since 2026-05-01\.$/);
    expect(r.comparison!.changes.filter((c) => c.kind === 'persistent').map((c) => c.label)).toEqual(['Skull fracture']);
  });
});
