/** Series list from QIDO-RS, in display order. Kept out of the Cornerstone chunk so the shell can prefetch. */
import { TAG, num, str, type DicomJson } from '../core/imaging/dicomJson';
import { compareSeries, isImageModality } from '../core/imaging/stack';
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
