/**
 * Typed TID builders (PS3.16), each a pure function returning content items, in the manner of
 * highdicom's sr.templates: TID 1204 language, TID 1002/1003/1004 observer context, TID 4019
 * algorithm identification, TID 1600 image library, TID 1410 planar ROI group, TID 1501 qualitative group.
 * The shape follows ../shared/notes/sr-tid1500-conformance.md, which passed validate-sr --ai.
 */
import type { Code, Finding, ImageRef, ModelRef, Region } from '../findings/finding.js';
import { CODES } from './codes.js';
import { codeItem, container, imageItem, numItem, pnameItem, scoordItem, textItem, uidrefItem, type ContentItem } from './content.js';
import { uidFromString } from './uid.js';

export type ResolvedImage = Pick<ImageRef, 'seriesInstanceUID' | 'sopInstanceUID' | 'frameNumber'> & { sopClassUID: string };

/** TID 1204 */
export const languageOfContent = (): ContentItem[] => [codeItem('HAS CONCEPT MOD', CODES.language, CODES.english)];

/** TID 1003 Person Observer Identifying Attributes (inside TID 1002). */
export function personObserver(name: string, organization?: string): ContentItem[] {
  return [
    codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.person),
    pnameItem('HAS OBS CONTEXT', CODES.personObserverName, name),
    ...(organization ? [textItem('HAS OBS CONTEXT', CODES.personObserverOrganization, organization)] : []),
  ];
}

/** The device observer UID of a model: derived from its identity, so every report from one model version names the same device. */
export function deviceUidOf(model: ModelRef): string {
  return uidFromString(`device:${model.manufacturer}:${model.name}:${model.version}`);
}

/** TID 1004 Device Observer Identifying Attributes: the AI model as the observer. */
export function deviceObserver(model: ModelRef): ContentItem[] {
  return [
    codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.device),
    uidrefItem('HAS OBS CONTEXT', CODES.deviceObserverUID, deviceUidOf(model)),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverName, `${model.name} ${model.version}`),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverManufacturer, model.manufacturer),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverModelName, model.name),
  ];
}

/** TID 4019 Algorithm Identification, as HAS CONCEPT MOD (where PixelMed's TID 1419 expects it). */
export function algorithmIdentification(model: ModelRef & { parameters?: string }): ContentItem[] {
  return [
    textItem('HAS CONCEPT MOD', CODES.algorithmName, model.name),
    textItem('HAS CONCEPT MOD', CODES.algorithmVersion, model.version),
    ...(model.parameters ?? model.executionProvider
      ? [textItem('HAS CONCEPT MOD', CODES.algorithmParameters, model.parameters ?? `executionProvider=${model.executionProvider}`)]
      : []),
  ];
}

/** TID 1600 Image Library: one group, one IMAGE per referenced instance. */
export function imageLibrary(images: ResolvedImage[]): ContentItem {
  const seen = new Set<string>();
  const entries: ContentItem[] = [];
  for (const img of images) {
    if (seen.has(img.sopInstanceUID)) continue;
    seen.add(img.sopInstanceUID);
    entries.push(imageItem('CONTAINS', { sopClassUID: img.sopClassUID, sopInstanceUID: img.sopInstanceUID }));
  }
  return container('CONTAINS', CODES.imageLibrary, [container('CONTAINS', CODES.imageLibraryGroup, entries)]);
}

/** Box -> closed POLYLINE of five (column,row) points, first = last: DICOM has no rectangle graphic type. */
export function boxPolyline(b: NonNullable<Region['box']>): [number, number][] {
  const x1 = b.x + b.width, y1 = b.y + b.height;
  return [[b.x, b.y], [x1, b.y], [x1, y1], [b.x, y1], [b.x, b.y]];
}

/** Polygon -> closed POLYLINE (the first point repeated at the end). */
export function polygonPolyline(p: [number, number][]): [number, number][] {
  const [f] = p, l = p[p.length - 1];
  return f[0] === l[0] && f[1] === l[1] ? p : [...p, f];
}

export type Verdict = 'accepted' | 'modified' | 'rejected';

export interface GroupInput {
  finding: Finding;
  /** One geometric region (TID 1410), or the images of an image-level finding (TID 1501). */
  region?: Region & { image: ResolvedImage };
  images?: ResolvedImage[];
  trackingUID: string;
  verdict?: Verdict;
}

/** Common rows of TID 1410 and 1501 after the geometry: finding, site, confidence with TID 4019, measurements, verdict. */
function findingRows(g: GroupInput, confidenceChildren: ContentItem[]): ContentItem[] {
  const f = g.finding;
  const rows: ContentItem[] = [codeItem('CONTAINS', CODES.finding, f.type)];
  if (f.findingSite) rows.push(codeItem('HAS CONCEPT MOD', CODES.findingSite, f.findingSite));
  rows.push(
    numItem('CONTAINS', CODES.certaintyOfFinding, f.confidence * 100, CODES.percent, [...algorithmIdentification(f.model), ...confidenceChildren]),
  );
  for (const m of f.measurements) rows.push(numItem('CONTAINS', m.name, m.value, m.unit));
  if (g.verdict) {
    rows.push(codeItem('CONTAINS', CODES.presenceOfProperty, g.verdict === 'rejected' ? CODES.absent : CODES.present));
    const v = f.verdict;
    let comment = '';
    if (g.verdict === 'modified') comment = `modified: replaces AI finding ${f.originalId ?? '(unknown)'}`;
    else if (g.verdict === 'rejected') comment = `rejected${v?.reason ? ` (${v.reason})` : ''}:`;
    if (v?.note) comment = `${comment || 'accepted:'} ${v.note}`;
    if (comment) rows.push(textItem('CONTAINS', CODES.comment, comment.trim()));
  }
  return rows;
}

const tracking = (g: GroupInput): ContentItem[] => [
  textItem('HAS OBS CONTEXT', CODES.trackingIdentifier, g.finding.id.slice(0, 64)),
  uidrefItem('HAS OBS CONTEXT', CODES.trackingUID, g.trackingUID),
];

/** TID 1410 Planar ROI Measurements and Qualitative Evaluations, for one box or polygon on one image (or frame). */
export function planarRoiGroup(g: GroupInput): ContentItem {
  const r = g.region;
  if (!r || (!r.box && !r.polygon)) throw new Error(`finding ${g.finding.id}: a planar ROI group needs a box or polygon`);
  const pts = r.box ? boxPolyline(r.box) : polygonPolyline(r.polygon as [number, number][]);
  const scoord = scoordItem('CONTAINS', CODES.imageRegion, 'POLYLINE', pts, r.image);
  // The same region again, INFERRED FROM under the confidence (TID 300's source of the measurement):
  // it tells which region the number came from, and it is where dcmjs's readers look for geometry.
  const source = scoordItem('INFERRED FROM', undefined, 'POLYLINE', pts, r.image);
  const rows = findingRows(g, [source]);
  return container('CONTAINS', CODES.measurementGroup, [...tracking(g), rows[0], scoord, ...rows.slice(1)], '1410');
}

/** TID 1501 Measurement and Qualitative Evaluation Group: an image-level finding; the images are the source of the confidence. */
export function imageLevelGroup(g: GroupInput): ContentItem {
  const imgs = g.images ?? [];
  if (!imgs.length) throw new Error(`finding ${g.finding.id}: an image-level group needs at least one image`);
  const sources = imgs.map((i) => imageItem('INFERRED FROM', i, CODES.sourceOfMeasurement));
  return container('CONTAINS', CODES.measurementGroup, [...tracking(g), ...findingRows(g, sources)], '1501');
}

export function imagingMeasurements(groups: ContentItem[]): ContentItem {
  return container('CONTAINS', CODES.imagingMeasurements, groups);
}

/** The radiologist's report text: findings sentences (one TEXT each) and the impression. */
export interface ReportText {
  findings: string[];
  impression: string;
}

/** A TEXT value is UT (no practical limit); blank lines are dropped, each sentence stays one item. */
const reportItems = (r: ReportText): ContentItem[] => [
  ...r.findings.map((t) => t.trim()).filter(Boolean).map((t) => textItem('CONTAINS', CODES.finding, t)),
  ...(r.impression.trim() ? [textItem('CONTAINS', CODES.impression, r.impression.trim())] : []),
];

/**
 * TID 1500 row 12, Qualitative Evaluations: the signed report's text as TEXT items (Finding, Impression),
 * beside the measurements it summarises. Absent when the report has no text.
 */
export function qualitativeEvaluations(r: ReportText | undefined): ContentItem[] {
  const items = r ? reportItems(r) : [];
  return items.length ? [container('CONTAINS', CODES.qualitativeEvaluations, items)] : [];
}

/** Root of TID 1500. */
export function measurementReport(parts: {
  observers: ContentItem[];
  procedureReported: Code;
  library: ContentItem;
  measurements: ContentItem;
  report?: ReportText;
}): ContentItem {
  return container(undefined, CODES.imagingMeasurementReport, [
    ...languageOfContent(),
    ...parts.observers,
    codeItem('HAS CONCEPT MOD', CODES.procedureReported, parts.procedureReported),
    parts.library,
    parts.measurements,
    ...qualitativeEvaluations(parts.report),
  ], '1500');
}
