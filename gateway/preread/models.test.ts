/** Routing against the real installed manifests (models/<name>/manifest.json). */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/demo-data.js';
import { fileCatalog, route } from './models.js';

const catalog = fileCatalog(path.join(REPO_ROOT, 'models'));
const ct = (over: Partial<{ modality: string; bodyPart: string }> = {}) => ({ id: 'o1', seriesInstanceUID: '1.2.3', modality: 'CT', bodyPart: 'HEAD', instanceCount: 28, ...over });

describe('route', () => {
  it('sends an adult head CT to the head CT model only, with reasons for the others', () => {
    const r = route(catalog.list(), { imageSeries: [ct()], bodyPart: 'HEAD', ageYears: 45, clinicalIndication: null });
    expect(r.find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'run', seriesId: 'o1', reason: 'indicated: CT HEAD, age 45' });
    const other = r.filter((d) => d.model !== 'head-ct-hyperdensity');
    expect(other.length).toBeGreaterThan(0);
    for (const d of other) expect(d).toMatchObject({ decision: 'skip' });
  });

  it('skips a child with the age reason; unknown age does not exclude', () => {
    const kid = route(catalog.list(), { imageSeries: [ct()], bodyPart: 'HEAD', ageYears: 9.7, clinicalIndication: null });
    expect(kid.find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'skip', reason: 'outside indication: age 9 < 18' });
    const unknown = route(catalog.list(), { imageSeries: [ct()], bodyPart: 'HEAD', ageYears: null, clinicalIndication: null });
    expect(unknown.find((d) => d.model === 'head-ct-hyperdensity')?.decision).toBe('run');
  });

  it('picks the fitting series of a mixed study and prefers the reason from the right modality', () => {
    const mixed = route(catalog.list(), { imageSeries: [ct({ modality: 'MR' }), { ...ct(), id: 'o2' }], bodyPart: null, ageYears: 50, clinicalIndication: null });
    expect(mixed.find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'run', seriesId: 'o2' });
    const chestCt = route(catalog.list(), { imageSeries: [ct({ modality: 'MR' }), ct({ bodyPart: 'CHEST' })], bodyPart: null, ageYears: 50, clinicalIndication: null });
    expect(chestCt.find((d) => d.model === 'head-ct-hyperdensity')?.reason).toMatch(/body part CHEST/);
  });

  it('a contraindication named in the order skips the model', () => {
    const r = route(catalog.list(), { imageSeries: [ct()], bodyPart: 'HEAD', ageYears: 60, clinicalIndication: 'Follow-up, post-operative head, r/o rebleed' });
    expect(r.find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'skip', reason: 'contraindicated by order: post-operative head' });
  });

  it('no image series: nothing runs', () => {
    for (const d of route(catalog.list(), { imageSeries: [], bodyPart: null, ageYears: null, clinicalIndication: null })) expect(d).toMatchObject({ decision: 'skip', reason: 'no image series in study' });
  });
});
