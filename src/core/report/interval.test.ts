import { describe, expect, it } from 'vitest';
import { FindingSchema, type Finding } from '../findings/finding';
import { boxSizeMm, intervalChanges, intervalSentence, sizeMm } from './interval';

const v = { by: 'rita', role: 'radiologist', at: '2026-11-25T10:00:00Z' };
const NODULE = { value: '427359005', scheme: 'SCT', meaning: 'Lung nodule' };
const f = (id: string, study: string, over: Record<string, unknown> = {}): Finding =>
  FindingSchema.parse({
    id, studyInstanceUID: study, type: NODULE, label: 'Lung nodule', confidence: 0.9, severity: 'routine', status: 'accepted', verdict: v, source: 'preread',
    regions: [{ image: { seriesInstanceUID: '1.2', sopInstanceUID: '1.2.3' }, box: { x: 100, y: 100, width: 10, height: 10 } }], model: { name: 'm', version: '1', manufacturer: 'x' },
    ...over,
  });
const size = (value: number, unit = 'mm') => ({ measurements: [{ name: { value: '103355008', scheme: 'SCT', meaning: 'Width' }, value, unit: { value: unit, scheme: 'UCUM', meaning: unit } }] });

describe('interval change', () => {
  it('matches by position and type: 6 mm → 9 mm is +50 %; new and resolved findings', () => {
    const prior = [f('p1', '1.1', size(6)), f('p2', '1.1', { ...size(4), regions: [{ image: { seriesInstanceUID: '1.2', sopInstanceUID: '1.2.4' }, box: { x: 300, y: 300, width: 8, height: 8 } }] })];
    const current = [f('c1', '1.9', { ...size(9), regions: [{ image: { seriesInstanceUID: '9.2', sopInstanceUID: '9.2.3' }, box: { x: 104, y: 98, width: 12, height: 12 } }] }), f('c2', '1.9', { ...size(0.5, 'cm'), regions: [{ image: { seriesInstanceUID: '9.2', sopInstanceUID: '9.2.5' }, box: { x: 10, y: 10, width: 5, height: 5 } }] })];
    const ch = intervalChanges(current, prior);
    expect(ch).toEqual([
      { kind: 'larger', currentId: 'c1', priorId: 'p1', label: 'Lung nodule', fromMm: 6, toMm: 9, pct: 50, matchedBy: 'type-position' },
      { kind: 'new', currentId: 'c2', label: 'Lung nodule', toMm: 5 },
      { kind: 'resolved', priorId: 'p2', label: 'Lung nodule', fromMm: 4 },
    ]);
    expect(intervalSentence(ch[0], '2026-05-01')).toBe('Lung nodule 6 mm → 9 mm, +50 % since 2026-05-01.');
    expect(intervalSentence(ch[1], '2026-05-01')).toBe('Lung nodule (5 mm): new since 2026-05-01.');
    expect(intervalSentence(ch[2], '2026-05-01')).toBe('Lung nodule (4 mm) seen on the prior: resolved since 2026-05-01.');
  });

  it('a Tracking UID wins over position; rejected and unverified findings do not count; small changes are stable', () => {
    const T = '2.25.123';
    const prior = [f('p1', '1.1', { ...size(10), trackingUID: T, regions: [{ image: { seriesInstanceUID: '1.2', sopInstanceUID: '1.2.3' }, box: { x: 400, y: 400, width: 10, height: 10 } }] })];
    const current = [f('c1', '1.9', { ...size(10.5), trackingUID: T }), f('c2', '1.9', { ...size(7), status: 'rejected', verdict: { ...v, reason: 'false-positive' } }), f('c3', '1.9', { status: 'ai-unverified', verdict: undefined })];
    const ch = intervalChanges(current, prior);
    expect(ch).toEqual([{ kind: 'stable', currentId: 'c1', priorId: 'p1', label: 'Lung nodule', fromMm: 10, toMm: 10.5, pct: 5, matchedBy: 'tracking-uid' }]);
    expect(intervalSentence(ch[0], '2026-05-01')).toBe('Lung nodule 10 mm → 10.5 mm, +5 % since 2026-05-01 (stable).');
    expect(sizeMm(f('x', '1', size(1.2, 'cm')))).toBe(12);
  });

  it('without a length measurement the size comes from the box and the pixel spacing (AI findings)', () => {
    const spacing = () => [0.5, 0.5] as [number, number];
    const prior = [f('p', '1.1', { regions: [{ image: { seriesInstanceUID: '1.2', sopInstanceUID: '1.2.3' }, box: { x: 100, y: 100, width: 12, height: 8 } }] })];
    const current = [f('c', '1.9', { regions: [{ image: { seriesInstanceUID: '9.2', sopInstanceUID: '9.2.3' }, box: { x: 98, y: 101, width: 18, height: 10 } }] })];
    expect(boxSizeMm(prior[0], spacing)).toBe(6);
    const [ch] = intervalChanges(current, prior, { sizeOf: (x) => boxSizeMm(x, spacing) });
    expect(ch).toMatchObject({ kind: 'larger', fromMm: 6, toMm: 9, pct: 50 });
  });
});
