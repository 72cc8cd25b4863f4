/** Series list from QIDO-RS, in display order. Kept out of the Cornerstone chunk so the shell can prefetch. */
import { TAG, num, str, type DicomJson } from '../core/imaging/dicomJson';
import { compareSeries, isImageModality, isImageSopClass } from '../core/imaging/stack';
import type { SeriesInfo } from './store';

export function seriesFromQido(seriesJson: DicomJson[]): SeriesInfo[] {
  return seriesJson
    .filter((s) => isImageModality(str(s, TAG.Modality)))
    .map((s) => ({
      seriesInstanceUID: str(s, TAG.SeriesInstanceUID) ?? '',
      description: str(s, TAG.SeriesDescription) ?? '',
      modality: str(s, TAG.Modality) ?? '',
      seriesNumber: num(s, TAG.SeriesNumber),
      instanceCount: num(s, TAG.NumberOfSeriesRelatedInstances) ?? 0,
      status: 'idle' as const,
      failedImages: 0,
    }))
    .sort(compareSeries);
}

/**
 * Series the QIDO list left out because the PACS gives them a non-image modality, yet which hold
 * images: a system that stores an SR (or PR, KO) in the image series, the SR first, gets the
 * series labelled by it. Found from instance-level QIDO (SOP Class UID), counted by their images.
 */
export function imageSeriesHiddenByModality(seriesJson: DicomJson[], instances: DicomJson[]): SeriesInfo[] {
  const hidden = new Map(seriesJson.filter((s) => !isImageModality(str(s, TAG.Modality))).map((s) => [str(s, TAG.SeriesInstanceUID) ?? '', s]));
  const images = new Map<string, number>();
  for (const i of instances) {
    const uid = str(i, TAG.SeriesInstanceUID) ?? '';
    const cls = str(i, TAG.SOPClassUID);
    if (hidden.has(uid) && cls && isImageSopClass(cls)) images.set(uid, (images.get(uid) ?? 0) + 1);
  }
  return [...images.entries()]
    .map(([uid, count]) => {
      const s = hidden.get(uid)!;
      return {
        seriesInstanceUID: uid,
        description: str(s, TAG.SeriesDescription) ?? '',
        modality: str(s, TAG.Modality) ?? '',
        seriesNumber: num(s, TAG.SeriesNumber),
        instanceCount: count,
        status: 'idle' as const,
        failedImages: 0,
      };
    })
    .sort(compareSeries);
}

/**
 * Per series, its image instances and their frames (Number of Frames, 1 when absent), from
 * instance-level QIDO: the series panel says "1 image · 16 frames" for a multi-frame instance.
 */
export function framesPerSeries(instances: DicomJson[]): Map<string, { instances: number; frames: number }> {
  const out = new Map<string, { instances: number; frames: number }>();
  for (const i of instances) {
    const cls = str(i, TAG.SOPClassUID);
    if (cls && !isImageSopClass(cls)) continue;
    const uid = str(i, TAG.SeriesInstanceUID) ?? '';
    const c = out.get(uid) ?? { instances: 0, frames: 0 };
    c.instances++;
    c.frames += Math.max(1, Math.floor(num(i, TAG.NumberOfFrames) ?? 1));
    out.set(uid, c);
  }
  return out;
}

/** The series panel's count: images, and frames where an image holds several. */
export function countLine(s: Pick<SeriesInfo, 'modality' | 'instanceCount' | 'frameCount'>): string {
  const images = `${s.instanceCount} ${s.instanceCount === 1 ? 'image' : 'images'}`;
  return [s.modality, images, s.frameCount !== undefined && s.frameCount > s.instanceCount ? `${s.frameCount} frames` : ''].filter(Boolean).join(' · ');
}

/**
 * The prior's series to compare with the one on screen: same modality, then the same description
 * (a protocol repeated), else the longest stack (the primary axial series rather than a scout).
 */
export function pickPriorSeries(series: SeriesInfo[], current: SeriesInfo | undefined): SeriesInfo | undefined {
  const same = series.filter((s) => !current?.modality || s.modality === current.modality);
  const pool = same.length ? same : series;
  return pool.find((s) => current?.description && s.description === current.description) ?? [...pool].sort((a, b) => b.instanceCount - a.instanceCount)[0];
}
