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
