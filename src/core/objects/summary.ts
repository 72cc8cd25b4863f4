/**
 * What a non-image result object is and who made it, read from its own content (never from what a
 * client says): SEG, parametric map, presentation state, key object selection, SR. Pure: takes a
 * naturalized dataset (dcmjs, from Part 10 bytes or from DICOM JSON metadata) and returns a summary
 * the gateway lists and the reader policy judges.
 */
import type { Dataset } from '../sr/dicom.js';
import { codeOf, items } from '../sr/reader.js';
import { CODES, sameCode } from '../sr/codes.js';

export type ObjectKind = 'seg' | 'pmap' | 'pr' | 'ko' | 'sr';

const SR_PREFIX = '1.2.840.10008.5.1.4.1.1.88.';
const KOS = '1.2.840.10008.5.1.4.1.1.88.59';
const SEG = '1.2.840.10008.5.1.4.1.1.66.4';
const PMAP = '1.2.840.10008.5.1.4.1.1.30';
/** Grayscale, Color, Pseudo-Color, Blending, XA/XRF, Advanced Blending, ... presentation states. */
const PR_PREFIX = '1.2.840.10008.5.1.4.1.1.11.';

/** The kind of result object a SOP class is, or null for an image (or a class this viewer does not show). */
export function objectKindOf(sopClassUID: string | undefined): ObjectKind | null {
  if (!sopClassUID) return null;
  if (sopClassUID === SEG) return 'seg';
  if (sopClassUID === PMAP) return 'pmap';
  if (sopClassUID === KOS) return 'ko';
  if (sopClassUID.startsWith(PR_PREFIX)) return 'pr';
  if (sopClassUID.startsWith(SR_PREFIX)) return 'sr';
  return null;
}

export interface Creator {
  creator: 'ai' | 'person';
  /** Algorithm (AI) or person name as the object gives it; undefined when it names none. */
  name?: string;
  version?: string;
  manufacturer?: string;
  /** Which attribute decided, for the panel's tooltip and for review. */
  basis: string;
}

export interface ObjectSummary {
  kind: ObjectKind;
  sopClassUID: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  seriesDescription?: string;
  contentLabel?: string;
  /** The series and instances the object is about (Referenced Series, evidence, source images). */
  referencedSeries: { seriesInstanceUID: string; sopInstanceUIDs: string[] }[];
  /** A SEG/parametric map that names no image, only a Frame of Reference (mapped by geometry). */
  frameOfReferenceUID?: string;
  creator: Creator;
}

export function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.length ? str(v[0]) : undefined;
  if (typeof v === 'object') {
    const a = (v as { Alphabetic?: unknown }).Alphabetic;
    return a === undefined ? undefined : str(a);
  }
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

/** IHE AIR's Processing Algorithm purpose (and the DICOM meaning of it, however a vendor codes it). */
function isProcessingAlgorithm(item: Dataset): boolean {
  const c = codeOf(item.PurposeOfReferenceCodeSequence);
  return !!c && (sameCode(c, CODES.processingAlgorithm) || c.meaning.toLowerCase() === 'processing algorithm');
}

function contributingAlgorithm(ds: Dataset): Creator | null {
  const eq = items(ds.ContributingEquipmentSequence).find(isProcessingAlgorithm);
  if (!eq) return null;
  return { creator: 'ai', name: str(eq.ManufacturerModelName) ?? str(eq.Manufacturer), version: str(eq.SoftwareVersions), manufacturer: str(eq.Manufacturer), basis: 'Contributing Equipment with purpose Processing Algorithm' };
}

/** TID 1002 observer context at the root of an SR / KOS content tree. */
function observerCreator(ds: Dataset): Creator | null {
  let person: string | undefined, device: { name?: string; model?: string; manufacturer?: string; uid?: string } | undefined, type: string | undefined;
  for (const it of items(ds.ContentSequence)) {
    if (it.RelationshipType !== 'HAS OBS CONTEXT') continue;
    const c = codeOf(it.ConceptNameCodeSequence);
    if (!c) continue;
    const text = str(it.TextValue) ?? str(it.UID) ?? str(it.PersonName) ?? codeOf(it.ConceptCodeSequence)?.meaning;
    if (sameCode(c, CODES.observerType)) type = codeOf(it.ConceptCodeSequence)?.value;
    else if (sameCode(c, CODES.personObserverName)) person = text;
    else if (sameCode(c, CODES.deviceObserverName)) (device ??= {}).name = text;
    else if (sameCode(c, CODES.deviceObserverModelName)) (device ??= {}).model = text;
    else if (sameCode(c, CODES.deviceObserverManufacturer)) (device ??= {}).manufacturer = text;
    else if (sameCode(c, CODES.deviceObserverUID)) (device ??= {}).uid = text;
  }
  // A device observer means an algorithm produced the content, even when a person also signs it
  // (a verified AI report): the AI switch hides what an algorithm made.
  if (device || type === CODES.device.value) return { creator: 'ai', name: device?.name ?? device?.model, manufacturer: device?.manufacturer, basis: 'SR observer context: Device' };
  if (person || type === CODES.person.value) return { creator: 'person', name: person, basis: 'SR observer context: Person' };
  // Author Observer Sequence (SR Document General, 2011+): DEV or PSN.
  const author = items(ds.AuthorObserverSequence)[0];
  if (author) {
    const t = str(author.ObserverType);
    if (t === 'DEV') return { creator: 'ai', name: str(author.ManufacturerModelName) ?? str(author.StationName), manufacturer: str(author.Manufacturer), basis: 'Author Observer Sequence: DEV' };
    if (t === 'PSN') return { creator: 'person', name: str(author.PersonName), basis: 'Author Observer Sequence: PSN' };
  }
  return null;
}

/**
 * Who made the object, from its content. The rule, per kind (first that applies):
 * - SEG: any segment whose Segment Algorithm Type is AUTOMATIC or SEMIAUTOMATIC → AI, named by its
 *   Segment Algorithm Name; all MANUAL → person (Content Creator's Name).
 * - SR and KOS: the root observer context (TID 1002): a Device observer → AI (Device Observer Name or
 *   Model Name), a Person observer → person; else the Author Observer Sequence (DEV / PSN).
 * - Any kind: Contributing Equipment with purpose "Processing Algorithm" (IHE AIR) → AI.
 * - Presentation state, parametric map: a Content Creator's Name → person.
 * - Parametric map with none of these → AI named by Manufacturer's Model Name: a map of computed
 *   values is made by software; the person who ran it would be the Content Creator.
 * - Anything else → person, name not given: presentation states and key-image notes without an
 *   algorithm's mark are what reading stations write. Semi-automatic counts as AI on purpose: an
 *   algorithm drew it, so the reader's AI switch must hide it.
 */
export function creatorOf(kind: ObjectKind, ds: Dataset): Creator {
  const version = str(ds.SoftwareVersions);
  const manufacturer = str(ds.Manufacturer);
  if (kind === 'seg') {
    const segs = items(ds.SegmentSequence);
    const auto = segs.find((s) => ['AUTOMATIC', 'SEMIAUTOMATIC'].includes(str(s.SegmentAlgorithmType)?.toUpperCase() ?? ''));
    if (auto) return { creator: 'ai', name: str(auto.SegmentAlgorithmName) ?? str(ds.ManufacturerModelName), version, manufacturer, basis: `Segment Algorithm Type ${str(auto.SegmentAlgorithmType)}` };
  }
  if (kind === 'sr' || kind === 'ko') {
    const o = observerCreator(ds);
    if (o) return { version: o.creator === 'ai' ? version : undefined, ...o, manufacturer: o.manufacturer ?? manufacturer };
  }
  const contrib = contributingAlgorithm(ds);
  if (contrib) return contrib;
  const person = str(ds.ContentCreatorName);
  if (person) return { creator: 'person', name: person, basis: "Content Creator's Name" };
  if (kind === 'seg') {
    const segs = items(ds.SegmentSequence);
    if (segs.length && segs.every((s) => str(s.SegmentAlgorithmType)?.toUpperCase() === 'MANUAL')) return { creator: 'person', basis: 'Segment Algorithm Type MANUAL' };
  }
  if (kind === 'pmap') return { creator: 'ai', name: str(ds.ManufacturerModelName) ?? manufacturer, version, manufacturer, basis: 'parametric map without a content creator (computed values)' };
  return { creator: 'person', basis: 'no algorithm named in the object' };
}

function addRef(out: Map<string, Set<string>>, series: string | undefined, sop: string | undefined): void {
  if (!series) return;
  const s = out.get(series) ?? new Set<string>();
  if (sop) s.add(sop);
  out.set(series, s);
}

/** Series and instances the object refers to, from every place the standard puts them. */
export function referencesOf(kind: ObjectKind, ds: Dataset): { series: Map<string, Set<string>>; loose: Set<string> } {
  const series = new Map<string, Set<string>>();
  const loose = new Set<string>();
  // SEG, parametric map, presentation state: Referenced Series Sequence (PR: with Referenced Image Sequence).
  for (const rs of items(ds.ReferencedSeriesSequence)) {
    const uid = str(rs.SeriesInstanceUID);
    addRef(series, uid, undefined);
    for (const r of [...items(rs.ReferencedInstanceSequence), ...items(rs.ReferencedImageSequence)]) addRef(series, uid, str(r.ReferencedSOPInstanceUID));
  }
  // SR, KOS: evidence sequences (series per instance).
  for (const key of ['CurrentRequestedProcedureEvidenceSequence', 'PertinentOtherEvidenceSequence']) {
    for (const st of items(ds[key])) {
      for (const rs of items(st.ReferencedSeriesSequence)) {
        const uid = str(rs.SeriesInstanceUID);
        for (const r of items(rs.ReferencedSOPSequence)) addRef(series, uid, str(r.ReferencedSOPInstanceUID));
      }
    }
  }
  // Per-frame source images (SEG, parametric map) name instances only.
  for (const f of items(ds.PerFrameFunctionalGroupsSequence)) {
    for (const d of items(f.DerivationImageSequence)) for (const s of items(d.SourceImageSequence)) {
      const sop = str(s.ReferencedSOPInstanceUID);
      if (sop) loose.add(sop);
    }
  }
  for (const s of items(ds.SourceImageSequence)) {
    const sop = str(s.ReferencedSOPInstanceUID);
    if (sop) loose.add(sop);
  }
  void kind;
  return { series, loose };
}

/** The list entry for one object; null when the SOP class is not a result object shown here. */
export function summarise(ds: Dataset): ObjectSummary | null {
  const sopClassUID = str(ds.SOPClassUID);
  const kind = objectKindOf(sopClassUID);
  if (!kind || !sopClassUID) return null;
  const refs = referencesOf(kind, ds);
  const known = new Set([...refs.series.values()].flatMap((s) => [...s]));
  const referencedSeries = [...refs.series].map(([seriesInstanceUID, sops]) => ({ seriesInstanceUID, sopInstanceUIDs: [...sops] }));
  const unplaced = [...refs.loose].filter((s) => !known.has(s));
  if (unplaced.length) referencedSeries.push({ seriesInstanceUID: '', sopInstanceUIDs: unplaced });
  const onlyFoR = (kind === 'seg' || kind === 'pmap') && referencedSeries.every((r) => !r.sopInstanceUIDs.length);
  return {
    kind,
    sopClassUID,
    studyInstanceUID: str(ds.StudyInstanceUID) ?? '',
    seriesInstanceUID: str(ds.SeriesInstanceUID) ?? '',
    sopInstanceUID: str(ds.SOPInstanceUID) ?? '',
    seriesDescription: str(ds.SeriesDescription),
    contentLabel: str(ds.ContentLabel) ?? codeOf(ds.ConceptNameCodeSequence)?.meaning,
    referencedSeries,
    ...(onlyFoR && str(ds.FrameOfReferenceUID) ? { frameOfReferenceUID: str(ds.FrameOfReferenceUID) } : {}),
    creator: creatorOf(kind, ds),
  };
}
