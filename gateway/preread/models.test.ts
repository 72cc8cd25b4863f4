/** Routing against THE registry's installed manifests (models/<name>/manifest.json) on THE study facts of real headers. */
import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { REPO_ROOT, headCtFiles, mrSeriesFiles } from '../../scripts/lib/demo-data.js';
import { headerVariant, readDicomJson } from '../../test/dicom-json.js';
import { studyFacts, type SeriesFacts } from '../../src/core/study/facts.js';
import { createModelRegistry } from '../ai/registry.js';
import { route, type RoutableSeries } from './models.js';

const catalog = createModelRegistry(path.join(REPO_ROOT, 'models'));
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));
const facts = (files: string[], edits: Record<string, string | null>): SeriesFacts => {
  const v = headerVariant(files, edits);
  cleanups.push(v.cleanup);
  return studyFacts(v.files.map(readDicomJson));
};
const CT = headCtFiles().slice(4, 8);
const adult = facts(CT, { '(0010,1010)': '045Y' });
const child = facts(CT, { '(0010,1010)': '009Y' });
const perfusion = facts(CT, { '(0010,1010)': '045Y', '(0008,0008)': 'DERIVED\\SECONDARY\\PERFUSION' });
const chestCt = facts(CT, { '(0010,1010)': '050Y', '(0018,0015)': 'CHEST' });
const mr = studyFacts(mrSeriesFiles().map(readDicomJson));
const series = (f: SeriesFacts, orthancId: string, over: Partial<SeriesFacts> = {}): RoutableSeries => ({ ...f, ...over, orthancId });

describe('route', () => {
  it('sends an adult head CT to the head CT model only, with reasons for the others', () => {
    const r = route(catalog.list(), [series(adult, 'o1')]);
    expect(r.find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'run', seriesId: 'o1', seriesInstanceUID: adult.seriesInstanceUID, reason: 'indicated: CT HEAD, age 45' });
    const other = r.filter((d) => d.model !== 'head-ct-hyperdensity');
    expect(other.length).toBeGreaterThan(0);
    for (const d of other) expect(d).toMatchObject({ decision: 'skip', reason: 'outside indication: modality CT not in CR/DX' });
  });

  it('skips a child with the age reason; unknown age (the real header has none) does not exclude', () => {
    expect(route(catalog.list(), [series(child, 'o1')]).find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'skip', reason: 'outside indication: age 9 < 18' });
    const unknown = studyFacts(CT.map(readDicomJson));
    expect(unknown.ageYears).toBeNull();
    expect(route(catalog.list(), [series(unknown, 'o1')]).find((d) => d.model === 'head-ct-hyperdensity')?.decision).toBe('run');
  });

  it('a perfusion map is outside the input domain; in a study that also holds the original series, that series is read', () => {
    expect(route(catalog.list(), [series(perfusion, 'p')]).find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({
      decision: 'skip',
      reason: 'outside input domain: image type DERIVED\\SECONDARY\\PERFUSION is not ORIGINAL\\PRIMARY',
    });
    const both = route(catalog.list(), [series(perfusion, 'p', { instanceCount: 40 }), series(adult, 'o')]);
    expect(both.find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'run', seriesId: 'o' });
  });

  it('picks the fitting series of a mixed study and prefers the reason that got furthest', () => {
    const mixed = route(catalog.list(), [series(mr, 'm', { instanceCount: 50 }), series(adult, 'o2')]);
    expect(mixed.find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'run', seriesId: 'o2' });
    const chest = route(catalog.list(), [series(mr, 'm', { instanceCount: 50 }), series(chestCt, 'c')]);
    expect(chest.find((d) => d.model === 'head-ct-hyperdensity')?.reason).toBe('outside indication: body part CHEST not in HEAD');
  });

  it('a contraindication named in the order skips the model', () => {
    const r = route(catalog.list(), [series({ ...adult, clinicalIndication: 'Follow-up, post-operative head, r/o rebleed' }, 'o1')]);
    expect(r.find((d) => d.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'skip', reason: 'contraindicated by order: post-operative head' });
  });

  it('no image series: nothing runs', () => {
    for (const d of route(catalog.list(), [])) expect(d).toMatchObject({ decision: 'skip', reason: 'no image series in study' });
  });
});
