import { describe, expect, it } from 'vitest';
import { compareFindings, FindingSchema, isPending, parseFinding, type Finding } from './finding.js';
import { aiFinding } from './testdata.js';

const parse = (o: unknown) => FindingSchema.parse(o);

describe('Finding schema', () => {
  it('accepts a minimal AI finding and fills defaults', () => {
    const r = parseFinding(aiFinding());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.status).toBe('ai-unverified');
    expect(r.value.kind).toBe('diagnostic');
    expect(r.value.measurements).toEqual([]);
    expect(r.value.model.manufacturer).toBe('Reading Station Demo');
    expect(isPending(r.value)).toBe(true);
  });

  it('accepts polygons, heatmaps of another resolution and a verdict', () => {
    const r = parseFinding(
      aiFinding({
        regions: [{ image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4', frameNumber: 2 }, polygon: [[1, 1], [5, 1], [3, 4]] }],
        heatmaps: [{ image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4' }, width: 2, height: 2, values: [0, 0.5, 0.25, 1], scale: { min: 0, max: 1 } }],
        status: 'accepted',
        verdict: { by: 'rita', at: '2026-11-25T10:00:00Z' },
      }),
    );
    expect(r.ok).toBe(true);
  });

  const bad: [string, Partial<Record<string, unknown>>, string][] = [
    ['confidence above 1', { confidence: 1.2 }, 'confidence: must be between 0 and 1'],
    ['negative box width', { regions: [{ image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4' }, box: { x: 0, y: 0, width: -1, height: 3 } }] }, 'regions.0.box.width: must be > 0'],
    ['non-UID study', { studyInstanceUID: 'abc' }, 'studyInstanceUID: must be a DICOM UID'],
    ['no regions', { regions: [] }, 'regions: a finding refers to at least one image'],
    ['unknown severity', { severity: 'meh' }, 'severity'],
    ['2-point polygon', { regions: [{ image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4' }, polygon: [[0, 0], [1, 1]] }] }, 'regions.0.polygon: a polygon needs at least 3 points'],
    ['heatmap size mismatch', { heatmaps: [{ image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4' }, width: 2, height: 2, values: [1, 2, 3], scale: { min: 0, max: 1 } }] }, 'heatmaps.0.values: values.length must equal width * height'],
    ['accepted without verdict', { status: 'accepted' }, 'verdict: status accepted needs a verdict'],
    ['modified without originalId', { status: 'modified', verdict: { by: 'rita', at: '2026-11-25T10:00:00Z' } }, 'originalId: a modified finding keeps a link'],
    ['frame number 0', { regions: [{ image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4', frameNumber: 0 } }] }, 'regions.0.image.frameNumber'],
    ['extra box key', { regions: [{ image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4' }, box: { x: 0, y: 0, width: 1, height: 1, z: 3 } }] }, 'regions.0.box'],
  ];
  for (const [what, over, msg] of bad) {
    it(`rejects ${what}, naming the field`, () => {
      const r = parseFinding({ ...aiFinding(), ...over });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.errors.join('\n')).toContain(msg);
    });
  }
});

describe('compareFindings (sidebar order)', () => {
  it('sorts by severity, then confidence descending, then id', () => {
    const fs: Finding[] = [
      parse(aiFinding({ id: 'r-high', severity: 'routine', confidence: 0.99 })),
      parse(aiFinding({ id: 'c-low', severity: 'critical', confidence: 0.4 })),
      parse(aiFinding({ id: 'u-mid', severity: 'urgent', confidence: 0.7 })),
      parse(aiFinding({ id: 'c-high', severity: 'critical', confidence: 0.8 })),
      parse(aiFinding({ id: 'c-high-b', severity: 'critical', confidence: 0.8 })),
    ];
    expect(fs.sort(compareFindings).map((f) => f.id)).toEqual(['c-high', 'c-high-b', 'c-low', 'u-mid', 'r-high']);
  });
});
