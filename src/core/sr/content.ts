/**
 * SR content items as naturalized dcmjs datasets, one small typed builder per value type
 * (in the manner of highdicom's sr.value_types). Nothing here knows about templates.
 */
import type { Code, ImageRef } from '../findings/finding.js';
import type { Dataset } from './dicom.js';

export type Relationship =
  | 'CONTAINS'
  | 'HAS OBS CONTEXT'
  | 'HAS CONCEPT MOD'
  | 'HAS PROPERTIES'
  | 'HAS ACQ CONTEXT'
  | 'INFERRED FROM'
  | 'SELECTED FROM';

export type ContentItem = Dataset;

export function codeSeq(c: Code): Dataset[] {
  // Code values over 16 characters belong in LongCodeValue (PS3.3 8.8).
  const v = c.value.length > 16 ? { LongCodeValue: c.value } : { CodeValue: c.value };
  return [{ ...v, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning.slice(0, 64) }];
}

const base = (rel: Relationship | undefined, valueType: string, name?: Code): Dataset => ({
  ...(rel ? { RelationshipType: rel } : {}),
  ValueType: valueType,
  ...(name ? { ConceptNameCodeSequence: codeSeq(name) } : {}),
});

export function container(rel: Relationship | undefined, name: Code, children: ContentItem[], templateId?: string): ContentItem {
  return {
    ...base(rel, 'CONTAINER', name),
    ContinuityOfContent: 'SEPARATE',
    ...(templateId ? { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: templateId }] } : {}),
    ...(children.length ? { ContentSequence: children } : {}),
  };
}

export const codeItem = (rel: Relationship, name: Code, value: Code, children: ContentItem[] = []): ContentItem => ({
  ...base(rel, 'CODE', name),
  ConceptCodeSequence: codeSeq(value),
  ...(children.length ? { ContentSequence: children } : {}),
});

/** TEXT is UT: up to 2^32-2 characters, but keep it to what a human would write. */
export const textItem = (rel: Relationship, name: Code, value: string): ContentItem => ({ ...base(rel, 'TEXT', name), TextValue: value });

export const uidrefItem = (rel: Relationship, name: Code, uid: string): ContentItem => ({ ...base(rel, 'UIDREF', name), UID: uid });

export const pnameItem = (rel: Relationship, name: Code, person: string): ContentItem => ({
  ...base(rel, 'PNAME', name),
  PersonName: [{ Alphabetic: person }],
});

/** DS has 16 characters; round so that a float like 0.9300000000000001 does not overflow it. */
export function ds(v: number): string {
  for (let p = 12; p > 0; p--) {
    const s = String(Number(v.toPrecision(p)));
    if (s.length <= 16) return s;
  }
  return v.toExponential(6);
}

export const numItem = (rel: Relationship, name: Code, value: number, unit: Code, children: ContentItem[] = []): ContentItem => ({
  ...base(rel, 'NUM', name),
  MeasuredValueSequence: [{ NumericValue: ds(value), MeasurementUnitsCodeSequence: codeSeq(unit) }],
  ...(children.length ? { ContentSequence: children } : {}),
});

export function referencedSop(ref: Pick<ImageRef, 'sopInstanceUID' | 'frameNumber'> & { sopClassUID: string }): Dataset[] {
  return [
    {
      ReferencedSOPClassUID: ref.sopClassUID,
      ReferencedSOPInstanceUID: ref.sopInstanceUID,
      ...(ref.frameNumber ? { ReferencedFrameNumber: String(ref.frameNumber) } : {}),
    },
  ];
}

export const imageItem = (
  rel: Relationship,
  ref: Pick<ImageRef, 'sopInstanceUID' | 'frameNumber'> & { sopClassUID: string },
  name?: Code,
): ContentItem => ({ ...base(rel, 'IMAGE', name), ReferencedSOPSequence: referencedSop(ref) });

/** 2D coordinates in image pixels (column, row), selected from exactly one image. */
export const scoordItem = (
  rel: Relationship,
  name: Code | undefined,
  graphicType: 'POINT' | 'MULTIPOINT' | 'POLYLINE' | 'CIRCLE' | 'ELLIPSE',
  points: [number, number][],
  source: Pick<ImageRef, 'sopInstanceUID' | 'frameNumber'> & { sopClassUID: string },
): ContentItem => ({
  ...base(rel, 'SCOORD', name),
  GraphicType: graphicType,
  GraphicData: points.flat(),
  ContentSequence: [imageItem('SELECTED FROM', source)],
});
