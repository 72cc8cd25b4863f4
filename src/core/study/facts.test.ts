/** THE study facts on real DICOM headers (../shared/data), and variants made from them with dcmodify. */
import { afterAll, describe, expect, it } from 'vitest';
import { CHEST_CR, headCtFiles, mrSeriesFiles } from '../../../scripts/lib/demo-data.js';
import { headerVariant, readDicomJson } from '../../../test/dicom-json.js';
import { ageFromDates, bodyPartsByStudy, isDerivedImageType, parseAgeString, studyBodyPart, studyFacts, summariseStudy } from './facts.js';

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));
const variant = (files: string[], edits: Record<string, string | null>) => {
  const v = headerVariant(files, edits);
  cleanups.push(v.cleanup);
  return v.files;
};

describe('studyFacts on real headers', () => {
  it('GE head CT: modality, body part, ORIGINAL\\PRIMARY, 4 mm slices of 0.488 mm pixels, no age (the header has none)', () => {
    const f = studyFacts(readDicomJson(headCtFiles()[0]));
    expect(f).toMatchObject({
      modality: 'CT',
      bodyPart: 'HEAD',
      imageType: ['ORIGINAL', 'PRIMARY', 'AXIAL', 'ADD'],
      derived: false,
      sliceThickness: 4,
      pixelSpacing: [0.4882812, 0.4882812],
      ageYears: null,
      clinicalIndication: null,
      instanceCount: 1,
    });
    expect(f.studyInstanceUID).toMatch(/^[0-9.]+$/);
    expect(f.seriesInstanceUID).toMatch(/^[0-9.]+$/);
  });

  it('the DWV/GDCM chest CR writes ImageType as one space-separated value: read as ORIGINAL, PRIMARY', () => {
    const f = studyFacts(readDicomJson(CHEST_CR));
    expect(f).toMatchObject({ modality: 'CR', bodyPart: 'CHEST', imageType: ['ORIGINAL', 'PRIMARY'], derived: false, pixelSpacing: null, sliceThickness: null });
  });

  it('MR: PatientAge 029Y, sex, series description', () => {
    const f = studyFacts(readDicomJson(mrSeriesFiles()[0]));
    expect(f).toMatchObject({ modality: 'MR', ageYears: 29, sex: 'M', seriesDescription: 'MEMPRAGE_4e_p2_1mm_iso RMS', sliceThickness: 1, pixelSpacing: [1, 1] });
  });

  it('without PatientAge, the age is BirthDate at StudyDate (never today)', () => {
    const [noAge] = variant([mrSeriesFiles()[0]], { '(0010,1010)': null });
    const f = studyFacts(readDicomJson(noAge));
    // 19830101 at 20120215
    expect(f.ageYears).toBe(29);
  });

  it('a perfusion map (ImageType DERIVED\\SECONDARY\\PERFUSION) is derived', () => {
    const [map] = variant([headCtFiles()[5]], { '(0008,0008)': 'DERIVED\\SECONDARY\\PERFUSION' });
    expect(studyFacts(readDicomJson(map))).toMatchObject({ modality: 'CT', imageType: ['DERIVED', 'SECONDARY', 'PERFUSION'], derived: true });
  });

  it('over a whole series, one derived instance makes the series derived and is the one named', () => {
    const files = headCtFiles().slice(0, 3);
    const [map] = variant([files[2]], { '(0008,0008)': 'DERIVED\\PRIMARY\\MPR' });
    const f = studyFacts([files[0], files[1], map].map(readDicomJson));
    expect(f).toMatchObject({ derived: true, imageType: ['DERIVED', 'PRIMARY', 'MPR'], instanceCount: 3 });
    expect(studyFacts([files[0], files[1]].map(readDicomJson)).derived).toBe(false);
  });

  it("carries the order's clinical indication", () => {
    expect(studyFacts(readDicomJson(headCtFiles()[0]), { clinicalIndication: '  Post-operative head, r/o rebleed ' }).clinicalIndication).toBe('Post-operative head, r/o rebleed');
  });

  it('an empty or malformed header gives unknowns, not errors', () => {
    expect(studyFacts({})).toMatchObject({ modality: null, bodyPart: null, ageYears: null, imageType: [], derived: false, sliceThickness: null, pixelSpacing: null });
    expect(studyFacts({ '00101010': { vr: 'AS', Value: ['45'] }, '00280030': { vr: 'DS', Value: ['x', '1'] } })).toMatchObject({ ageYears: null, pixelSpacing: null });
  });
});

describe('age and image type rules', () => {
  it('parses AS and dates', () => {
    expect(parseAgeString('045Y')).toBe(45);
    expect(parseAgeString('018M')).toBe(1.5);
    expect(parseAgeString('365D')).toBeCloseTo(0.999, 2);
    expect(parseAgeString('45Y')).toBeNull();
    expect(ageFromDates('19800101', '20260101')).toBe(46);
    expect(ageFromDates('19800102', '20260101')).toBe(45);
    expect(ageFromDates('20300101', '20260101')).toBeNull();
  });
  it('DERIVED in value 1 or SECONDARY in value 2', () => {
    expect(isDerivedImageType(['ORIGINAL', 'PRIMARY', 'AXIAL'])).toBe(false);
    expect(isDerivedImageType(['DERIVED', 'PRIMARY'])).toBe(true);
    expect(isDerivedImageType(['ORIGINAL', 'SECONDARY'])).toBe(true);
  });
});

describe('summariseStudy', () => {
  it('primary modality, body part and age from the largest series of that modality; SR only when nothing else is there', () => {
    const ct = studyFacts(headCtFiles().slice(0, 3).map(readDicomJson));
    const mr = studyFacts(mrSeriesFiles().map(readDicomJson));
    const s = summariseStudy([mr, ct], ['SR']);
    expect(s.series.map((x) => x.modality)).toEqual(mr.instanceCount >= ct.instanceCount ? ['MR', 'CT'] : ['CT', 'MR']);
    expect(s.modalities).toContain('SR');
    expect(s.modality).toBe(s.series[0].modality);
    expect(summariseStudy([], ['SR']).modality).toBe('SR');
  });
});

describe('THE study body part: from the image series, never lost to an SR that arrives later', () => {
  const series = (study: string, modality: string, bodyPart: string | null, n: number) => ({
    '0020000D': { vr: 'UI', Value: [study] },
    '00080060': { vr: 'CS', Value: [modality] },
    ...(bodyPart ? { '00180015': { vr: 'CS', Value: [bodyPart] } } : {}),
    '00201209': { vr: 'IS', Value: [n] },
  });

  it('an AI SR listed first (as Orthanc answers once it arrives) does not drop the body part', () => {
    // Regression: after an AI SR arrived, the worklist and the priors read the study-level attribute, which Orthanc
    // takes from one instance of the study: the SR's (none). The series-level answer keeps the CT's HEAD.
    const parts = bodyPartsByStudy([series('1.2.1', 'SR', null, 1), series('1.2.1', 'CT', 'HEAD', 28), series('1.2.2', 'CR', 'chest', 1), series('1.2.3', 'SR', null, 1)]);
    expect(Object.fromEntries(parts)).toEqual({ '1.2.1': 'HEAD', '1.2.2': 'CHEST' });
  });

  it('non-image objects never give it; the primary modality\'s largest series first; null when no image series has one', () => {
    expect(studyBodyPart([{ modality: 'SEG', bodyPart: 'LIVER', instanceCount: 1 }, { modality: 'CT', bodyPart: 'ABDOMEN', instanceCount: 100 }])).toBe('ABDOMEN');
    expect(studyBodyPart([{ modality: 'PR', bodyPart: 'CHEST', instanceCount: 1 }, { modality: 'CT', bodyPart: null, instanceCount: 100 }])).toBeNull();
    expect(studyBodyPart([{ modality: 'CT', bodyPart: 'NECK', instanceCount: 10 }, { modality: 'CT', bodyPart: 'HEAD', instanceCount: 40 }])).toBe('HEAD');
    expect(studyBodyPart([{ modality: 'CT', bodyPart: null, instanceCount: 40 }, { modality: 'CT', bodyPart: 'head ', instanceCount: 2 }])).toBe('HEAD');
    expect(studyBodyPart([])).toBeNull();
  });

  it('summariseStudy takes it from another image series when the largest has none', () => {
    const ct = studyFacts(readDicomJson(headCtFiles()[0]));
    const s = summariseStudy([{ ...ct, bodyPart: null, instanceCount: 30 }, { ...ct, instanceCount: 2 }]);
    expect(s.bodyPart).toBe('HEAD');
  });
});

