/**
 * From a series' WADO-RS metadata (DICOM JSON, one object per instance) to the displayed stack:
 * one entry per frame, in anatomical order. Pure, so the ordering rules are unit-tested on real headers.
 */
import { TAG, num, nums, seq, str, type DicomJson } from './dicomJson';
import { orderSlices, type SliceGeometry } from './sliceOrder';

export interface StackEntry {
  seriesInstanceUID: string;
  sopInstanceUID: string;
  /** 1-based frame number (1 for single-frame instances). */
  frameNumber: number;
  numberOfFrames: number;
  /** Index of the instance's metadata in the input array. */
  instanceIndex: number;
  geometry: SliceGeometry;
  /** Slice Location (0020,1041) in mm, where the header has it. */
  sliceLocation?: number;
  /** Slice Thickness (0018,0050) in mm (per frame or shared for enhanced multi-frame). */
  sliceThickness?: number;
  /** Pixel Spacing (0028,0030) present (row, column in mm): lengths can be given in mm. */
  pixelSpacing?: [number, number];
}

export interface BuiltStack {
  entries: StackEntry[];
  method: 'position' | 'instance-number';
  positions?: number[];
}

/** Plane position/orientation of one frame of an enhanced multi-frame instance, if it has them. */
function frameGeometry(inst: DicomJson, frameIndex: number): Pick<SliceGeometry, 'ipp' | 'iop'> {
  const perFrame = seq(inst, TAG.PerFrameFunctionalGroupsSequence)[frameIndex];
  const shared = seq(inst, TAG.SharedFunctionalGroupsSequence)[0];
  const pos = (g: DicomJson | undefined) => nums(seq(g, TAG.PlanePositionSequence)[0], TAG.ImagePositionPatient);
  const ori = (g: DicomJson | undefined) => nums(seq(g, TAG.PlaneOrientationSequence)[0], TAG.ImageOrientationPatient);
  return { ipp: pos(perFrame) ?? pos(shared), iop: ori(perFrame) ?? ori(shared) };
}

/**
 * SOP classes that share image series in the wild but are not slices: structured reports (SR, KO,
 * and the rest of 1.2.840.10008.5.1.4.1.1.88), presentation states (11.x), segmentations (66.4) and
 * their kin (raw data, registrations, fiducials, surfaces: 66.x), RT structure sets and plans
 * (481.x other than RT Image 481.1), encapsulated documents (104.x), waveforms (9.x), and parametric
 * maps (30): float values an algorithm computed, shown by their own handler as a colour map over the
 * series they were computed from (src/objects), never as a greyscale stack of their own.
 */
const NON_IMAGE_SOP_CLASS_PREFIXES = [
  '1.2.840.10008.5.1.4.1.1.30',
  '1.2.840.10008.5.1.4.1.1.88.',
  '1.2.840.10008.5.1.4.1.1.11.',
  '1.2.840.10008.5.1.4.1.1.66',
  '1.2.840.10008.5.1.4.1.1.104.',
  '1.2.840.10008.5.1.4.1.1.9.',
  '1.2.840.10008.5.1.4.1.1.481.',
];
const IMAGE_SOP_CLASS_EXCEPTIONS = new Set(['1.2.840.10008.5.1.4.1.1.481.1']); // RT Image

/**
 * True for an instance that is a displayable image: its SOP class is none of the non-image ones and
 * it has Rows and Columns (a class this list does not know is judged by those). Metadata without a
 * SOP class (hand-made) is judged by its Modality.
 */
export function isImageInstance(inst: DicomJson): boolean {
  const cls = str(inst, TAG.SOPClassUID);
  if (!cls) return isImageModality(str(inst, TAG.Modality));
  return isImageSopClass(cls) && (num(inst, TAG.Rows) ?? 0) > 0 && (num(inst, TAG.Columns) ?? 0) > 0;
}

/** False for the SOP classes above that are never slices; any other class may be an image. */
export function isImageSopClass(cls: string): boolean {
  return IMAGE_SOP_CLASS_EXCEPTIONS.has(cls) || !NON_IMAGE_SOP_CLASS_PREFIXES.some((p) => cls.startsWith(p));
}

/**
 * The stack holds image instances only (isImageInstance): an SR, PR, KO or SEG stored in the same
 * series is left to its own handler. instanceIndex still points into `instances` as given.
 */
/** Slice location, thickness and pixel spacing of one frame (top level, else per-frame, else shared groups). */
function frameMeasures(inst: DicomJson, frameIndex: number): Pick<StackEntry, 'sliceLocation' | 'sliceThickness' | 'pixelSpacing'> {
  const measures = (g: DicomJson | undefined) => seq(g, TAG.PixelMeasuresSequence)[0];
  const perFrame = measures(seq(inst, TAG.PerFrameFunctionalGroupsSequence)[frameIndex]);
  const shared = measures(seq(inst, TAG.SharedFunctionalGroupsSequence)[0]);
  const spacing = nums(inst, TAG.PixelSpacing) ?? nums(perFrame, TAG.PixelSpacing) ?? nums(shared, TAG.PixelSpacing);
  const thickness = num(inst, TAG.SliceThickness) ?? num(perFrame, TAG.SliceThickness) ?? num(shared, TAG.SliceThickness);
  const location = num(inst, TAG.SliceLocation);
  return {
    ...(location !== undefined ? { sliceLocation: location } : {}),
    ...(thickness !== undefined && thickness > 0 ? { sliceThickness: thickness } : {}),
    ...(spacing && spacing.length >= 2 && spacing[0] > 0 && spacing[1] > 0 ? { pixelSpacing: [spacing[0], spacing[1]] as [number, number] } : {}),
  };
}

export function buildStack(instances: readonly DicomJson[]): BuiltStack {
  const entries: StackEntry[] = [];
  instances.forEach((inst, instanceIndex) => {
    if (!isImageInstance(inst)) return;
    const sop = str(inst, TAG.SOPInstanceUID) ?? '';
    const series = str(inst, TAG.SeriesInstanceUID) ?? '';
    const frames = Math.max(1, Math.floor(num(inst, TAG.NumberOfFrames) ?? 1));
    const instanceNumber = num(inst, TAG.InstanceNumber);
    const ipp = nums(inst, TAG.ImagePositionPatient);
    const iop = nums(inst, TAG.ImageOrientationPatient);
    for (let f = 0; f < frames; f++) {
      const g = frames > 1 ? frameGeometry(inst, f) : {};
      entries.push({
        seriesInstanceUID: series,
        sopInstanceUID: sop,
        frameNumber: f + 1,
        numberOfFrames: frames,
        instanceIndex,
        // A classic multi-frame has one IPP for all frames: positions would tie, so frames keep their order.
        geometry: { ipp: g.ipp ?? (frames > 1 ? undefined : ipp), iop: g.iop ?? iop, instanceNumber, frame: f + 1 },
        ...frameMeasures(inst, f),
      });
    }
  });
  const r = orderSlices(entries, (e) => e.geometry);
  return { entries: r.items, method: r.method, positions: r.positions };
}

/** WADO-RS frame URL path (relative to the DICOMweb root) for one stack entry. */
export function framePath(studyUID: string, e: Pick<StackEntry, 'seriesInstanceUID' | 'sopInstanceUID' | 'frameNumber'>): string {
  return `/studies/${studyUID}/series/${e.seriesInstanceUID}/instances/${e.sopInstanceUID}/frames/${e.frameNumber}`;
}

/** Image-bearing series only: SR, SEG, PR, KO and friends have no pixels to stack. */
const NON_IMAGE_MODALITIES = new Set(['SR', 'SEG', 'PR', 'KO', 'RTSTRUCT', 'RTPLAN', 'REG', 'DOC']);
export function isImageModality(modality: string | undefined): boolean {
  return !modality || !NON_IMAGE_MODALITIES.has(modality.toUpperCase());
}

/** Display order of series: by series number (unnumbered last), then description. */
export function compareSeries(a: { seriesNumber?: number; description: string }, b: { seriesNumber?: number; description: string }): number {
  return (a.seriesNumber ?? 1e9) - (b.seriesNumber ?? 1e9) || a.description.localeCompare(b.description);
}

/**
 * The series the viewer opens first, from instance metadata: the rule of the series list
 * (viewer/series.ts: image series only, in compareSeries order); a series counts by its image
 * instances, whatever else it holds.
 */
export function firstSeriesOf(instances: readonly DicomJson[]): string | undefined {
  const series = new Map<string, { seriesNumber?: number; description: string }>();
  for (const i of instances) {
    const uid = str(i, TAG.SeriesInstanceUID);
    if (!uid || series.has(uid) || !isImageInstance(i)) continue;
    series.set(uid, { seriesNumber: num(i, TAG.SeriesNumber), description: str(i, TAG.SeriesDescription) ?? '' });
  }
  return [...series.entries()].sort(([, a], [, b]) => compareSeries(a, b))[0]?.[0];
}

/** The image a study opens on: the first series' first slice in display order, with its metadata. */
export function firstImageOf(studyUID: string, instances: readonly DicomJson[]): { framePath: string; instance: DicomJson; entries: StackEntry[] } | null {
  const seriesUID = firstSeriesOf(instances);
  if (!seriesUID) return null;
  const seriesInstances = instances.filter((i) => str(i, TAG.SeriesInstanceUID) === seriesUID);
  const entries = buildStack(seriesInstances).entries;
  const first = entries[0];
  return first ? { framePath: framePath(studyUID, first), instance: seriesInstances[first.instanceIndex], entries } : null;
}
