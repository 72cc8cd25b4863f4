import { describe, expect, it } from 'vitest';
import { extentOf, setRangeEnd, sliceRangeOf } from './extent';

const sops = ['s0', 's1', 's2', 's3', 's4', 's5'];
const region = (sop: string) => ({ image: { studyInstanceUID: '1.2', seriesInstanceUID: '1.2.3', sopInstanceUID: sop } });

describe('finding slice range', () => {
  it('defaults to the slices of its regions, and prefers a stored extent', () => {
    expect(sliceRangeOf({ regions: [region('s3'), region('s1')] }, sops)).toEqual({ first: 1, last: 3 });
    expect(sliceRangeOf({ regions: [region('s3')], extent: { firstSopInstanceUID: 's5', lastSopInstanceUID: 's2' } }, sops)).toEqual({ first: 2, last: 5 });
    expect(sliceRangeOf({ regions: [region('other')] }, sops)).toBeNull();
  });

  it('moves one end; the other end follows when crossed', () => {
    expect(setRangeEnd({ first: 2, last: 3 }, 0, 'first')).toEqual({ first: 0, last: 3 });
    expect(setRangeEnd({ first: 2, last: 3 }, 5, 'first')).toEqual({ first: 5, last: 5 });
    expect(setRangeEnd({ first: 2, last: 3 }, 4, 'last')).toEqual({ first: 2, last: 4 });
    expect(setRangeEnd({ first: 2, last: 3 }, 1, 'last')).toEqual({ first: 1, last: 1 });
    expect(setRangeEnd(null, 4, 'last')).toEqual({ first: 4, last: 4 });
    expect(extentOf({ first: 1, last: 4 }, sops)).toEqual({ firstSopInstanceUID: 's1', lastSopInstanceUID: 's4' });
  });
});
