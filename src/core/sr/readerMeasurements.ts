/**
 * The radiologist's own measurements (gateway/measurements) in the verified SR: one Measurement Group
 * per measurement, observed by the signing radiologist (a PERSON observer context in the group, never
 * the AI device), with TID 300 numeric measurements in UCUM units and the drawn geometry as SCOORD on
 * the image it was drawn on. Lengths, angles and probes are TID 1501 groups (the SCOORD is the source
 * of the NUM, INFERRED FROM); rectangle and ellipse ROIs are TID 1410 groups (Image Region SCOORD).
 * Each NUM names the viewer tool that computed it (TID 4019 inside TID 300): the figure is the tool's
 * computation from the radiologist's points.
 * Pure: the image planes (position, orientation, spacing) come from the caller.
 */
import type { Code } from '../findings/finding.js';
import type { Measurement } from '../measurements/measurement.js';
import { CODES } from './codes.js';
import { codeItem, container, imageItem, numItem, pnameItem, scoordItem, textItem, uidrefItem, type ContentItem } from './content.js';
import type { Dataset } from './dicom.js';
import type { ResolvedImage } from './templates.js';
import { uidFromString } from './uid.js';

const sct = (value: string, meaning: string): Code => ({ value, scheme: 'SCT', meaning });
export const MEASUREMENT_CODES = {
  length: sct('410668003', 'Length'),
  area: sct('42798000', 'Area'),
  angle: sct('1483009', 'Angle'),
  mean: sct('373098007', 'Mean'),
  stdDev: sct('386136009', 'Standard Deviation'),
  min: sct('255605001', 'Minimum'),
  max: sct('56851009', 'Maximum'),
} as const satisfies Record<string, Code>;

const ucum = (value: string, meaning: string): Code => ({ value, scheme: 'UCUM', meaning });
export const MEASUREMENT_UNITS = {
  mm: ucum('mm', 'millimeter'),
  mm2: ucum('mm2', 'square millimeter'),
  deg: ucum('deg', 'degree'),
  hu: ucum("[hnsf'U]", 'Hounsfield unit'),
  stored: ucum('{stored value}', 'stored value'),
  pixel: ucum('{pixel}', 'pixel'),
  pixel2: ucum('{pixel}2', 'square pixel'),
} as const satisfies Record<string, Code>;

/** Where an image lies in patient space (mm): enough to turn patient points into (column,row). */
export interface ImagePlane {
  position: [number, number, number];
  /** Row direction cosines (along a row, i.e. increasing column), then column direction cosines. */
  orientation: [number, number, number, number, number, number];
  /** Pixel Spacing: [between rows, between columns] in mm. */
  spacing: [number, number];
}

const nums = (v: unknown, n: number): number[] | undefined => {
  const a = (Array.isArray(v) ? v : typeof v === 'string' ? v.split('\\') : []).map(Number);
  return a.length === n && a.every(Number.isFinite) ? a : undefined;
};

/** The plane of one frame from a naturalized dataset (classic attributes, or enhanced functional groups). */
export function imagePlaneOf(ds: Dataset, frameNumber = 1): ImagePlane | undefined {
  const first = (v: unknown): Dataset | undefined => (Array.isArray(v) ? (v[0] as Dataset | undefined) : (v as Dataset | undefined));
  const perFrame = first((ds.PerFrameFunctionalGroupsSequence as Dataset[] | undefined)?.[frameNumber - 1]) ?? undefined;
  const shared = first(ds.SharedFunctionalGroupsSequence);
  const fg = (key: string, attr: string): unknown => first(perFrame?.[key])?.[attr] ?? first(shared?.[key])?.[attr];
  const position = nums(ds.ImagePositionPatient, 3) ?? nums(fg('PlanePositionSequence', 'ImagePositionPatient'), 3);
  const orientation = nums(ds.ImageOrientationPatient, 6) ?? nums(fg('PlaneOrientationSequence', 'ImageOrientationPatient'), 6);
  const spacing = nums(ds.PixelSpacing, 2) ?? nums(fg('PixelMeasuresSequence', 'PixelSpacing'), 2);
  if (!position || !orientation || !spacing || spacing.some((s) => s <= 0)) return undefined;
  return { position: position as ImagePlane['position'], orientation: orientation as ImagePlane['orientation'], spacing: spacing as ImagePlane['spacing'] };
}

/** Patient point (mm) -> SCOORD (column,row), where the top-left corner of the first pixel is (0,0) and its centre (0.5,0.5). */
export function toImagePoint(p: [number, number, number], plane: ImagePlane): [number, number] {
  const d = [p[0] - plane.position[0], p[1] - plane.position[1], p[2] - plane.position[2]];
  const [r0, r1, r2, c0, c1, c2] = plane.orientation;
  const col = (d[0] * r0 + d[1] * r1 + d[2] * r2) / plane.spacing[1];
  const row = (d[0] * c0 + d[1] * c1 + d[2] * c2) / plane.spacing[0];
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return [round(col + 0.5), round(row + 0.5)];
}

/** The tracking UID of a radiologist's measurement: stable for the study and the measurement id (an addendum's SR names the same one). */
export function measurementTrackingUid(studyInstanceUID: string, id: string): string {
  return uidFromString(`measurement:${studyInstanceUID}:${id}`);
}

const TOOL_NAME: Record<Measurement['tool'], string> = {
  length: 'Reading Station length tool',
  angle: 'Reading Station angle tool',
  rectangle: 'Reading Station rectangle ROI tool',
  ellipse: 'Reading Station ellipse ROI tool',
  probe: 'Reading Station probe tool',
};
export const MEASUREMENT_TOOL_VERSION = '1';

function unitOf(kind: 'length' | 'area' | 'value', m: Measurement): Code {
  const s = m.stats;
  if (kind === 'length') return s.unit === 'px' ? MEASUREMENT_UNITS.pixel : MEASUREMENT_UNITS.mm;
  if (kind === 'area') return s.areaUnit === 'px²' || s.areaUnit === 'px2' ? MEASUREMENT_UNITS.pixel2 : MEASUREMENT_UNITS.mm2;
  return s.modalityUnit === 'HU' ? MEASUREMENT_UNITS.hu : MEASUREMENT_UNITS.stored;
}

/** Ellipse SCOORD from Cornerstone-style handles: 4 points (ends of both axes) as given; 2 points (centre, corner of bounding box) made into axis ends. */
function ellipsePoints(pts: [number, number][]): [number, number][] {
  if (pts.length === 4) return pts;
  const [[cx, cy], [x, y]] = pts;
  const a = Math.abs(x - cx), b = Math.abs(y - cy);
  return [[cx - a, cy], [cx + a, cy], [cx, cy - b], [cx, cy + b]];
}

function rectanglePoints(pts: [number, number][]): [number, number][] {
  if (pts.length === 4) return [...pts, pts[0]];
  const [[x0, y0], [x1, y1]] = pts;
  return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
}

export interface MeasurementGroupInput {
  measurement: Measurement;
  image: ResolvedImage;
  /** The image's plane; without it the group references the image (no SCOORD). */
  plane?: ImagePlane;
  /** The signing radiologist (DICOM person name). */
  observerName: string;
}

/** One Measurement Group (TID 1501 or TID 1410) for a radiologist's measurement. */
export function radiologistMeasurementGroup(g: MeasurementGroupInput): ContentItem {
  const m = g.measurement;
  const s = m.stats;
  const image = { ...g.image, frameNumber: g.image.frameNumber ?? (m.frameNumber > 1 ? m.frameNumber : undefined) };
  const px = g.plane ? m.points.map((p) => toImagePoint(p, g.plane!)) : undefined;
  const algorithm = [
    textItem('HAS CONCEPT MOD', CODES.algorithmName, TOOL_NAME[m.tool]),
    textItem('HAS CONCEPT MOD', CODES.algorithmVersion, MEASUREMENT_TOOL_VERSION),
  ];
  const head: ContentItem[] = [
    codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.person),
    pnameItem('HAS OBS CONTEXT', CODES.personObserverName, g.observerName),
    textItem('HAS OBS CONTEXT', CODES.trackingIdentifier, `measurement ${m.id} (${m.tool})`.slice(0, 64)),
    uidrefItem('HAS OBS CONTEXT', CODES.trackingUID, measurementTrackingUid(m.studyInstanceUID, m.id)),
  ];
  const roi = m.tool === 'rectangle' || m.tool === 'ellipse';
  if (roi) {
    const region = px
      ? m.tool === 'ellipse'
        ? scoordItem('CONTAINS', CODES.imageRegion, 'ELLIPSE', ellipsePoints(px), image)
        : scoordItem('CONTAINS', CODES.imageRegion, 'POLYLINE', rectanglePoints(px), image)
      : undefined;
    const nums: ContentItem[] = [];
    const add = (name: Code, v: number | undefined, unit: Code) => {
      if (v !== undefined) nums.push(numItem('CONTAINS', name, v, unit, algorithm));
    };
    add(MEASUREMENT_CODES.area, s.area, unitOf('area', m));
    add(MEASUREMENT_CODES.mean, s.mean, unitOf('value', m));
    add(MEASUREMENT_CODES.stdDev, s.stdDev, unitOf('value', m));
    add(MEASUREMENT_CODES.min, s.min, unitOf('value', m));
    add(MEASUREMENT_CODES.max, s.max, unitOf('value', m));
    if (region) return container('CONTAINS', CODES.measurementGroup, [...head, region, ...nums], '1410');
    const source = imageItem('INFERRED FROM', image, CODES.sourceOfMeasurement);
    return container('CONTAINS', CODES.measurementGroup, [...head, ...nums.map((n) => ({ ...n, ContentSequence: [...(n.ContentSequence as ContentItem[]), source] }))], '1501');
  }
  const source = px
    ? scoordItem('INFERRED FROM', CODES.sourceOfMeasurement, m.tool === 'probe' ? 'POINT' : 'POLYLINE', px, image)
    : imageItem('INFERRED FROM', image, CODES.sourceOfMeasurement);
  const [name, value, unit] =
    m.tool === 'length'
      ? [MEASUREMENT_CODES.length, s.length, unitOf('length', m)]
      : m.tool === 'angle'
        ? [MEASUREMENT_CODES.angle, s.angle, MEASUREMENT_UNITS.deg]
        : [MEASUREMENT_CODES.mean, s.value ?? s.mean, unitOf('value', m)];
  const items = value === undefined ? [] : [numItem('CONTAINS', name, value, unit, [...algorithm, source])];
  return container('CONTAINS', CODES.measurementGroup, [...head, ...items], '1501');
}

/** Whether a measurement has a figure to write (a group without any NUM says nothing). */
export function hasFigures(m: Pick<Measurement, 'tool' | 'stats'>): boolean {
  const s = m.stats;
  if (m.tool === 'length') return s.length !== undefined;
  if (m.tool === 'angle') return s.angle !== undefined;
  if (m.tool === 'probe') return (s.value ?? s.mean) !== undefined;
  return [s.area, s.mean, s.stdDev, s.min, s.max].some((v) => v !== undefined);
}
