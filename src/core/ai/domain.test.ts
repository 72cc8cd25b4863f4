import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { addStats, domainGuard, emptyStats, intensityDomain, sliceStats, valueFactsOf, valuesDomain, OUTSIDE_DOMAIN, type IntensityGuard } from './domain';
import { parseManifest } from './manifest';

const manifest = (() => {
  const r = parseManifest(JSON.parse(fs.readFileSync(path.join(__dirname, '../../../models/head-ct-hyperdensity/manifest.json'), 'utf8')));
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
})();
const guard = manifest.domain.intensity as IntensityGuard;

/** A synthetic axial head slice (HU): air, a skull ring, brain with texture; optional variations. */
function headSlice(n = 128, opts: { skull?: boolean; brainNoise?: number; air?: number; scale?: number; offset?: number } = {}): Float32Array {
  const v = new Float32Array(n * n);
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const r = Math.hypot(x - n / 2, y - n / 2) / (n / 2);
      let hu = opts.air ?? -1000;
      if (r < 0.8) hu = 35 + (opts.brainNoise ?? 12) * 2 * rnd();
      if (opts.skull !== false && r >= 0.8 && r < 0.9) hu = 1200;
      v[y * n + x] = hu * (opts.scale ?? 1) + (opts.offset ?? 0);
    }
  return v;
}

describe('the intensity domain guard (synthetic arrays)', () => {
  it('the real manifest declares it; a head-like slice is inside', () => {
    expect(guard).toBeDefined();
    expect(intensityDomain(guard, sliceStats(headSlice(), guard))).toEqual({ ok: true });
  });

  it('a uniform cylinder without a skull (phantom) is outside: no bone, named with the figure', () => {
    const r = intensityDomain(guard, sliceStats(headSlice(128, { skull: false, brainNoise: 0 }), guard));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(new RegExp(`^${OUTSIDE_DOMAIN}: bone \\(300\\.\\.4095 HU\\) is 0% of the body, expected at least 2%`));
  });

  it('a phantom with a bone-like ring but uniform "brain" is outside as uniform', () => {
    const r = intensityDomain(guard, sliceStats(headSlice(128, { brainNoise: 0.5 }), guard));
    expect(!r.ok && r.reason).toMatch(/brain values are uniform \(SD 0\.\d HU < 4\): not anatomy/);
  });

  it('a perfusion-like map (values 0-100, no air background) is outside', () => {
    // CBF-like: the head's HU scaled to small positive numbers, background 0.
    const r = intensityDomain(guard, sliceStats(headSlice(128, { air: 0, scale: 0.05, offset: 0 }).map((x) => Math.max(0, x)), guard));
    expect(!r.ok && r.reason).toMatch(/air \(-2048\.\.-500 HU\) is 0% of the image, expected at least 5%/);
  });

  it('values far outside the HU range are not HU', () => {
    const r = intensityDomain(guard, sliceStats(headSlice(128, { offset: 20000 }), guard));
    expect(!r.ok && r.reason).toMatch(/of pixel values outside -2048\.\.4095 HU/);
    expect(intensityDomain(guard, sliceStats(new Float32Array([NaN, NaN, 0]), guard)).ok).toBe(false);
    expect(intensityDomain(guard, emptyStats(guard))).toEqual({ ok: false, reason: `${OUTSIDE_DOMAIN}: no pixel values` });
  });

  it('statistics add up: the sum of slices decides as the whole series does', () => {
    const a = headSlice(64);
    const b = headSlice(64, { skull: false });
    const both = new Float32Array([...a, ...b]);
    const summed = addStats(sliceStats(a, guard), sliceStats(b, guard));
    const whole = sliceStats(both, guard);
    expect(summed.pixels).toBe(whole.pixels);
    expect(summed.body).toBe(whole.body);
    expect(summed.bands.map((x) => x.count)).toEqual(whole.bands.map((x) => x.count));
    expect(summed.slices).toBe(2);
    expect(intensityDomain(guard, summed)).toEqual(intensityDomain(guard, { ...whole, slices: 2 }));
  });

  it('declared units other than HU are outside; absent (CT) is fine', () => {
    expect(valuesDomain(guard, {})).toEqual({ ok: true });
    expect(valuesDomain(guard, { rescaleType: 'HU' })).toEqual({ ok: true });
    expect(valuesDomain(guard, { rescaleType: 'ML/100G/MIN' })).toEqual({ ok: false, reason: `${OUTSIDE_DOMAIN}: values are ML/100G/MIN, not HU (Rescale Type)` });
    expect(domainGuard(manifest.domain, { units: 'PROPCNT' }, sliceStats(headSlice(), guard)).ok).toBe(false);
    // A model without the guard declared takes any values.
    expect(domainGuard({}, { rescaleType: 'US' }, null)).toEqual({ ok: true });
  });
});

describe('valueFactsOf: the header facts the guard reads, one reading for browser and server', () => {
  it('reads Rescale Type and Units from DICOM JSON; absent or blank is null; a perfusion map is refused by them', () => {
    const map = { '00281054': { vr: 'LO', Value: ['ML/100G/MIN '] }, '00541001': { vr: 'CS', Value: ['ML/100G/MIN'] } };
    expect(valueFactsOf(map)).toEqual({ rescaleType: 'ML/100G/MIN', units: 'ML/100G/MIN' });
    expect(valueFactsOf({ '00281054': { vr: 'LO', Value: ['  '] } })).toEqual({ rescaleType: null, units: null });
    expect(valueFactsOf(undefined)).toEqual({ rescaleType: null, units: null });
    expect(valuesDomain(guard, valueFactsOf(map))).toMatchObject({ ok: false, reason: expect.stringMatching(/ML\/100G\/MIN/) });
    expect(valuesDomain(guard, valueFactsOf({}))).toEqual({ ok: true });
  });
});
