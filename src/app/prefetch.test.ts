import { describe, expect, it } from 'vitest';
import { viewerStudyOf } from './prefetch';
import { firstSeriesOf } from '../core/imaging/stack';
import { seriesFromQido } from '../viewer/series';
import type { DicomJson } from '../core/imaging/dicomJson';

const inst = (series: string, number: number | undefined, modality: string, description = ''): DicomJson => ({
  '0020000E': { vr: 'UI', Value: [series] },
  ...(number === undefined ? {} : { '00200011': { vr: 'IS', Value: [number] } }),
  '00080060': { vr: 'CS', Value: [modality] },
  '0008103E': { vr: 'LO', Value: [description] },
});

describe('first series from study metadata', () => {
  it('picks what the series list shows first: image series by number, then description', () => {
    const instances = [inst('sr', 0, 'SR'), inst('b', 2, 'MR', 'T2'), inst('c', undefined, 'MR'), inst('a2', 1, 'MR', 'b'), inst('a1', 1, 'MR', 'a'), inst('b', 2, 'MR', 'T2')];
    expect(firstSeriesOf(instances)).toBe('a1');
    // The same rule as the QIDO series list the viewer opens with (one object per series there).
    const qido = [...new Map(instances.map((i) => [i['0020000E']!.Value![0], i])).values()];
    expect(seriesFromQido(qido)[0].seriesInstanceUID).toBe('a1');
  });
  it('has none for a study of reports only, and recognises deep links', () => {
    expect(firstSeriesOf([inst('sr', 1, 'SR')])).toBeUndefined();
    expect(viewerStudyOf('/viewer/1.2.3')).toBe('1.2.3');
    expect(viewerStudyOf('/viewer/1.2.3/')).toBe('1.2.3');
    expect(viewerStudyOf('/')).toBeUndefined();
  });
});
