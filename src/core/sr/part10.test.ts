/**
 * The fast Part 10 writer (part10.ts) must write exactly dcmjs's bytes: over real SRs built from the
 * shared images (AI and verified, with measurements, report text, a predecessor, names with non-ASCII
 * letters) and over the edge cases of each VR it accepts; what it does not accept goes to dcmjs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { CHEST_CR, DICOM, HEAD_CT_DIR, mrSeriesFiles } from '../../../scripts/lib/demo-data.js';
import { dcmjs, parseDicomPart10, writeDicomPart10, writeDicomPart10WithDcmjs, type Dataset } from './dicom.js';
import { buildMeasurementReport, studyFromDataset, type SrDocumentInput } from './writer.js';
import { imagePlaneOf } from './readerMeasurements.js';
import { sampleFindings, reviewedFindings, sampleMeasurements, DEMO_MODEL } from './testing.js';
import { decimalString, Part10Unsupported, writePart10ExplicitLE, type DenaturalizedDataset } from './part10.js';

const read = (f: string) => parseDicomPart10(fs.readFileSync(f));
const SOURCES: [string, Dataset][] = [
  ['head CT', read(path.join(HEAD_CT_DIR, '05.dcm'))],
  ['chest CR', read(CHEST_CR)],
  ['MR', read(mrSeriesFiles()[0])],
  ['enhanced CT (multi-frame)', read(path.join(DICOM, 'pydicom-data', 'data_store', 'data', 'eCT_Supplemental.dcm'))],
];

function srs(src: Dataset): [string, Dataset][] {
  const frames = Number(src.NumberOfFrames ?? 1) > 1 ? { frames: [1, 2] } : {};
  const findings = sampleFindings(src, frames);
  const base: SrDocumentInput = { kind: 'ai', findings, study: studyFromDataset(src), model: DEMO_MODEL, sopInstanceUID: '2.25.11', seriesInstanceUID: '2.25.12', contentDateTime: '2026-11-25T10:00:00Z' };
  const verified: SrDocumentInput = {
    ...base,
    kind: 'verified',
    findings: reviewedFindings(findings),
    sopInstanceUID: '2.25.21',
    seriesInstanceUID: '2.25.22',
    signer: { name: 'Reader^Rita^^Dr.', organization: 'Hôpital Démo', at: '2026-11-25T10:05:00Z' },
    predecessor: { seriesInstanceUID: '2.25.12', sopInstanceUID: '2.25.11' },
    report: { findings: ['Hyperdense collection, 12 mm, left frontal.', 'Größe unverändert — “stable”.'], impression: 'Acute subdural haematoma.' },
  };
  const out: [string, Dataset][] = [
    ['AI SR', buildMeasurementReport(base)],
    ['verified SR with report', buildMeasurementReport(verified)],
  ];
  if (!frames.frames && imagePlaneOf(src)) out.push(['verified SR with measurements', buildMeasurementReport({ ...verified, measurements: sampleMeasurements(src) })]);
  return out;
}

const same = (ds: Dataset) => {
  const fast = writeDicomPart10(ds);
  const ref = writeDicomPart10WithDcmjs(ds);
  expect(fast.length).toBe(ref.length);
  expect(Buffer.from(fast).equals(Buffer.from(ref))).toBe(true);
  return fast;
};

const meta = (): DenaturalizedDataset =>
  dcmjs.data.DicomMetaDictionary.denaturalizeDataset({ MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.88.33', MediaStorageSOPInstanceUID: '2.25.1', TransferSyntaxUID: '1.2.840.10008.1.2.1' }) as DenaturalizedDataset;

describe('fast Part 10 writer = dcmjs, byte for byte', () => {
  for (const [name, src] of SOURCES) {
    for (const [kind, ds] of srs(src)) {
      it(`${kind} on the ${name}`, () => {
        // It is the fast path that wrote these (not a fallback to dcmjs).
        const d = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds) as DenaturalizedDataset;
        expect(() => writePart10ExplicitLE(meta(), d)).not.toThrow();
        const bytes = same(ds);
        // And what it wrote reads back to the same content.
        expect(parseDicomPart10(bytes).SOPInstanceUID).toBe(ds.SOPInstanceUID);
      });
    }
  }

  it('edge cases of each VR it takes: odd lengths and their padding, multiple values, empties, names, numbers, binary', () => {
    const ds: Dataset = {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
      SOPInstanceUID: '2.25.123', // odd: padded with NUL
      SpecificCharacterSet: 'ISO_IR 192',
      ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
      StudyDescription: 'Zürich Kopf', // UTF-8, odd byte count
      SeriesDescription: '',
      PatientName: { Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' },
      ReferringPhysicianName: [{ Alphabetic: 'Doe^J' }, { Alphabetic: 'Roe^R' }],
      OperatorsName: 'Plain^String',
      PixelSpacing: [0.48828125, 0.1 + 0.2],
      SliceThickness: 1.2345678901234567,
      SliceLocation: -123456789.12345678,
      WindowCenter: [40, 1e-7, 12345678901234567890],
      InstanceNumber: 7,
      SeriesNumber: '12',
      Rows: 512,
      Columns: 511,
      RescaleIntercept: -1024,
      RealWorldValueMappingSequence: [{ RealWorldValueSlope: 0.5, RealWorldValueIntercept: -1024.25, LUTLabel: 'HU', DoubleFloatRealWorldValueFirstValueMapped: 1e-300 }],
      ReferencedFrameNumbers: undefined,
      NumberOfFrames: 3,
      FrameTime: 33.3,
      BitsAllocated: 16,
      PixelRepresentation: 1,
      LargestMonochromePixelValue: 4095,
      ReferencedImageSequence: [],
      OtherPatientIDsSequence: [{ PatientID: 'X1', IssuerOfPatientID: 'HOSP' }, { PatientID: 'Y2' }],
      LongCodeValue: 'x'.repeat(65),
      TextValue: 'line one\r\nline two ' + 'long '.repeat(3000),
      URNCodeValue: 'urn:oid:1.2.3',
      ContentDate: '20261207',
      ContentTime: '101500.123',
      PatientAge: '045Y',
    };
    same(ds);
    const d = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds) as DenaturalizedDataset;
    expect(() => writePart10ExplicitLE(meta(), d)).not.toThrow();
  });

  it('what it does not take goes to dcmjs, which writes it as before (the same bytes as dcmjs alone)', () => {
    const cases: Dataset[] = [
      // AT is left to dcmjs
      { SOPClassUID: '1.2.3', SOPInstanceUID: '2.25.9', FrameIncrementPointer: 0x00181063 },
      // OF (float pixel data) is left to dcmjs
      { SOPClassUID: '1.2.3', SOPInstanceUID: '2.25.9', FloatPixelData: new Float32Array([1.5, -2, 3]).buffer },
    ];
    for (const ds of cases) {
      const d = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds) as DenaturalizedDataset;
      expect(() => writePart10ExplicitLE(meta(), d)).toThrow(Part10Unsupported);
      expect(Buffer.from(writeDicomPart10(ds)).equals(Buffer.from(writeDicomPart10WithDcmjs(ds)))).toBe(true);
    }
    // A CS value longer than the VR allows: dcmjs refuses it, and the fast path hands it over (to be refused).
    const long: DenaturalizedDataset = { '00080060': { vr: 'CS', Value: ['X'.repeat(17)] } };
    expect(() => writePart10ExplicitLE(meta(), long)).toThrow(Part10Unsupported);
    const dict = new dcmjs.data.DicomDict(meta());
    dict.dict = long;
    expect(() => dict.write()).toThrow(/exceeds max length/);
  });

  it('decimal strings longer than 16 characters are shortened as dcmjs does', () => {
    expect(decimalString(0.30000000000000004)).toBe('0.30000000000000');
    expect(decimalString(1e-7)).toBe('1e-7');
    expect(decimalString(-123456789.12345678)).toBe('-123456789.12346');
    expect(decimalString(12345678901234567890)).toBe('1.2345678901e+19');
    for (const x of [0.30000000000000004, 1.2345678901234567, -0.000012345678912345, 98765432109876.5]) expect(decimalString(x).length).toBeLessThanOrEqual(16);
  });
});
