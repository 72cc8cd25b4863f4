import { describe, expect, it } from 'vitest';
import { parseRadiologistFindingRequest } from './radiologist';

const region = { image: { seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4' }, box: { x: 10, y: 20, width: 30, height: 40 } };

describe('a radiologist finding request', () => {
  it('takes a listed type (with its default severity) or a coded type, and a box', () => {
    const r = parseRadiologistFindingRequest({ type: 'pneumothorax', region });
    expect(r).toEqual({ ok: true, value: { type: { value: '36118008', scheme: 'SCT', meaning: 'Pneumothorax' }, severity: 'critical', region } });
    const c = parseRadiologistFindingRequest({ type: { value: '123', scheme: '99X', meaning: 'Other' }, severity: 'routine', region });
    expect(c.ok && c.value.severity).toBe('routine');
  });
  it('refuses anything the server stamps, quality flags, and a region without a box', () => {
    for (const extra of [{ source: 'preread' }, { status: 'accepted' }, { verdict: {} }, { confidence: 1 }, { id: 'x' }, { model: {} }]) expect(parseRadiologistFindingRequest({ type: 'fracture', region, ...extra }).ok).toBe(false);
    expect(parseRadiologistFindingRequest({ type: 'motionArtefact', region }).ok).toBe(false);
    expect(parseRadiologistFindingRequest({ type: 'fracture', region: { image: region.image } }).ok).toBe(false);
  });
});
