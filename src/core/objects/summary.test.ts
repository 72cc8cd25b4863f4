import { describe, expect, it } from 'vitest';
import { creatorOf, objectKindOf, summarise } from './summary';
import { asPolicyFinding, modelNameOf } from './policy';
import { dicomLabToRgb } from './seg';

const code = (v: string, s: string, m: string) => [{ CodeValue: v, CodingSchemeDesignator: s, CodeMeaning: m }];
const obs = (name: [string, string], value: Record<string, unknown>) => ({ RelationshipType: 'HAS OBS CONTEXT', ConceptNameCodeSequence: code(name[0], 'DCM', name[1]), ...value });

describe('kind of a result object from its SOP class', () => {
  it.each([
    ['1.2.840.10008.5.1.4.1.1.66.4', 'seg'],
    ['1.2.840.10008.5.1.4.1.1.30', 'pmap'],
    ['1.2.840.10008.5.1.4.1.1.11.1', 'pr'],
    ['1.2.840.10008.5.1.4.1.1.88.59', 'ko'],
    ['1.2.840.10008.5.1.4.1.1.88.33', 'sr'],
    ['1.2.840.10008.5.1.4.1.1.2', null],
  ])('%s → %s', (cls, kind) => expect(objectKindOf(cls)).toBe(kind));
});

describe('who made it, from its content', () => {
  it('SEG: AUTOMATIC or SEMIAUTOMATIC segment → AI named by its algorithm; all MANUAL → person', () => {
    const seg = (t: string, extra: Record<string, unknown> = {}) => ({ SoftwareVersions: '1.2', SegmentSequence: [{ SegmentNumber: 1, SegmentAlgorithmType: t, SegmentAlgorithmName: 'LiverNet' }], ...extra });
    expect(creatorOf('seg', seg('AUTOMATIC'))).toMatchObject({ creator: 'ai', name: 'LiverNet', version: '1.2' });
    expect(creatorOf('seg', seg('SEMIAUTOMATIC'))).toMatchObject({ creator: 'ai', name: 'LiverNet' });
    expect(creatorOf('seg', seg('MANUAL', { ContentCreatorName: [{ Alphabetic: 'Reader^Rita' }] }))).toMatchObject({ creator: 'person', name: 'Reader^Rita' });
    expect(creatorOf('seg', seg('MANUAL'))).toMatchObject({ creator: 'person', basis: 'Segment Algorithm Type MANUAL' });
  });

  it('SR / KOS: a Device observer → AI even when a person also signs; a Person observer only → person', () => {
    const device = obs(['121013', 'Device Observer Name'], { ValueType: 'TEXT', TextValue: 'ICH-Detect' });
    const person = obs(['121008', 'Person Observer Name'], { ValueType: 'PNAME', PersonName: [{ Alphabetic: 'Reader^Rita' }] });
    expect(creatorOf('sr', { ContentSequence: [device] })).toMatchObject({ creator: 'ai', name: 'ICH-Detect' });
    expect(creatorOf('sr', { ContentSequence: [person, device] })).toMatchObject({ creator: 'ai' });
    expect(creatorOf('ko', { ContentSequence: [person] })).toMatchObject({ creator: 'person', name: 'Reader^Rita' });
    expect(creatorOf('sr', { AuthorObserverSequence: [{ ObserverType: 'DEV', ManufacturerModelName: 'CAD-9' }] })).toMatchObject({ creator: 'ai', name: 'CAD-9' });
  });

  it('GSPS: Processing Algorithm contributing equipment → AI; a Content Creator → person; neither → person', () => {
    const eq = { ContributingEquipmentSequence: [{ Manufacturer: 'Acme AI', ManufacturerModelName: 'bleed-marker', SoftwareVersions: '2.1', PurposeOfReferenceCodeSequence: code('Newcode1', '99IHE', 'Processing Algorithm') }] };
    expect(creatorOf('pr', eq)).toMatchObject({ creator: 'ai', name: 'bleed-marker', version: '2.1', manufacturer: 'Acme AI' });
    expect(creatorOf('pr', { ContentCreatorName: [{ Alphabetic: 'Reader^Rita' }] })).toMatchObject({ creator: 'person', name: 'Reader^Rita' });
    expect(creatorOf('pr', { Manufacturer: 'GE MEDICAL SYSTEMS' })).toMatchObject({ creator: 'person', basis: 'no algorithm named in the object' });
  });

  it('parametric map without a content creator → AI named by its model', () => {
    expect(creatorOf('pmap', { ManufacturerModelName: 'MyModel', SoftwareVersions: 'v1.0' })).toMatchObject({ creator: 'ai', name: 'MyModel', version: 'v1.0' });
  });
});

describe('summary and the policy finding', () => {
  it('references, FoR-only, and the model name in the registry spelling', () => {
    const s = summarise({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.66.4', SOPInstanceUID: '1.2.3', SeriesInstanceUID: '1.2', StudyInstanceUID: '1.1', FrameOfReferenceUID: '1.9',
      SegmentSequence: [{ SegmentAlgorithmType: 'AUTOMATIC', SegmentAlgorithmName: 'Liver Net' }],
    })!;
    expect(s.frameOfReferenceUID).toBe('1.9');
    expect(s.referencedSeries).toEqual([]);
    const f = asPolicyFinding(s);
    expect(f).toMatchObject({ source: 'import', model: { name: 'liver-net' }, confidence: 0, kind: 'diagnostic' });
    expect(f.regions).toEqual([{ image: { seriesInstanceUID: '1.2', sopInstanceUID: '1.2.3' } }]);
    expect(modelNameOf(undefined)).toBe('unknown');
  });
});

describe('SEG recommended colour (DICOM CIELab → sRGB)', () => {
  it('white, black and the liver segment of the shared SEG', () => {
    expect(dicomLabToRgb([65535, 32896, 32896])).toEqual([255, 255, 255]);
    expect(dicomLabToRgb([0, 32896, 32896])).toEqual([0, 0, 0]);
    // L* 63.6, a* +32.2, b* +30.8 (41661\\41167\\40792): dcmjs's Colors.dicomlab2RGB gives
    // 0.86664, 0.50983, 0.39606 for it, i.e. 221, 130, 101.
    expect(dicomLabToRgb([41661, 41167, 40792])).toEqual([221, 130, 101]);
  });
});
