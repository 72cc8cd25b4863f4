/**
 * SR and KOS content trees for reading, pure: every content item as a line a person can read
 * (relationship, concept, value), and a Key Object Selection's key images with their series.
 */
import type { Dataset } from '../sr/dicom.js';
import { codeOf, items } from '../sr/reader.js';
import { str } from './summary.js';

export interface TreeNode {
  relationship?: string;
  valueType: string;
  name: string;
  value: string;
  children: TreeNode[];
}

const MAX_NODES = 5000;

function valueOf(it: Dataset): string {
  switch (str(it.ValueType)) {
    case 'TEXT': return str(it.TextValue) ?? '';
    case 'CODE': return codeOf(it.ConceptCodeSequence)?.meaning ?? '';
    case 'NUM': {
      const mv = items(it.MeasuredValueSequence)[0];
      if (!mv) return '(no value)';
      const u = codeOf(mv.MeasurementUnitsCodeSequence);
      return `${str(mv.NumericValue) ?? ''}${u ? ` ${u.value === '1' ? '' : u.value}` : ''}`.trim();
    }
    case 'PNAME': return str(it.PersonName) ?? '';
    case 'UIDREF': return str(it.UID) ?? '';
    case 'DATE': return str(it.Date) ?? '';
    case 'TIME': return str(it.Time) ?? '';
    case 'DATETIME': return str(it.DateTime) ?? '';
    case 'IMAGE':
    case 'COMPOSITE': {
      const r = items(it.ReferencedSOPSequence)[0];
      return r ? `image …${(str(r.ReferencedSOPInstanceUID) ?? '').slice(-12)}` : '';
    }
    case 'SCOORD':
    case 'SCOORD3D': {
      const d = Array.isArray(it.GraphicData) ? it.GraphicData.length : 0;
      return `${str(it.GraphicType) ?? ''} (${d / (str(it.ValueType) === 'SCOORD3D' ? 3 : 2)} points)`;
    }
    default: return '';
  }
}

/** The whole tree from the root (the document's title is the root's concept name). */
export function contentTree(ds: Dataset): TreeNode {
  let count = 0;
  const walk = (it: Dataset, depth: number): TreeNode => ({
    relationship: str(it.RelationshipType),
    valueType: str(it.ValueType) ?? '',
    name: codeOf(it.ConceptNameCodeSequence)?.meaning ?? '',
    value: valueOf(it),
    // Bounded: a hostile or broken document cannot make the panel render without end.
    children: depth > 32 ? [] : items(it.ContentSequence).flatMap((c) => (++count > MAX_NODES ? [] : [walk(c, depth + 1)])),
  });
  return walk(ds, 0);
}

export interface KeyImage {
  seriesInstanceUID: string;
  sopInstanceUID: string;
  frames: number[];
}

/** A KOS's key images in document order, with their series from the evidence sequence. */
export function keyImages(ds: Dataset): { title: string; description?: string; images: KeyImage[] } {
  const series = new Map<string, string>();
  for (const st of items(ds.CurrentRequestedProcedureEvidenceSequence)) {
    for (const rs of items(st.ReferencedSeriesSequence)) for (const r of items(rs.ReferencedSOPSequence)) {
      const sop = str(r.ReferencedSOPInstanceUID), s = str(rs.SeriesInstanceUID);
      if (sop && s) series.set(sop, s);
    }
  }
  const images: KeyImage[] = [];
  let description: string | undefined;
  for (const it of items(ds.ContentSequence)) {
    if (str(it.ValueType) === 'TEXT' && !description) description = str(it.TextValue);
    if (str(it.ValueType) !== 'IMAGE') continue;
    const r = items(it.ReferencedSOPSequence)[0];
    const sop = r && str(r.ReferencedSOPInstanceUID);
    if (!sop) continue;
    const fr = r.ReferencedFrameNumber;
    images.push({ seriesInstanceUID: series.get(sop) ?? '', sopInstanceUID: sop, frames: (Array.isArray(fr) ? fr : fr === undefined || fr === null || fr === '' ? [] : [fr]).map(Number).filter((n) => Number.isInteger(n) && n >= 1) });
  }
  return { title: codeOf(ds.ConceptNameCodeSequence)?.meaning ?? 'Key images', description, images };
}
