import { describe, expect, it } from 'vitest';
import { matchSlice, type SliceRef } from './sync';

const AXIAL = [1, 0, 0, 0, 1, 0];
/** The shared head CT's gantry tilt: normal (0, 0.317, 0.948). */
const TILTED = [1, 0, 0, 0, 0.948, -0.317];
const stack = (zs: number[], extra: Partial<SliceRef> = {}, iop = AXIAL): SliceRef[] => zs.map((z) => ({ ipp: [-120, -120, z], iop, frameOfReferenceUID: '1.2.3', ...extra }));

describe('matchSlice', () => {
  it('same Frame of Reference: nearest position along the normal, whatever the order and spacing of the target', () => {
    const target = stack([40, 35, 30, 25, 20]); // descending, 5 mm
    expect(matchSlice({ ipp: [-120, -120, 31.2], iop: AXIAL, frameOfReferenceUID: '1.2.3' }, target)).toEqual({ index: 2, method: 'position', distance: expect.closeTo(1.2, 6) });
    expect(matchSlice({ ipp: [0, 0, 23], iop: AXIAL, frameOfReferenceUID: '1.2.3' }, target).index).toBe(3); // 23 is 2 from 25 (index 3), 3 from 20
    // Beyond the target's ends: the end slice, with its distance (the caller may say "out of range").
    expect(matchSlice({ ipp: [0, 0, 100], iop: AXIAL, frameOfReferenceUID: '1.2.3' }, target)).toMatchObject({ index: 0, distance: 60 });
  });

  it('projects on the normal: in-plane offsets (x, y of a tilted stack) do not count', () => {
    // Slices along the tilted normal n = (0, 0.317, 0.948) (row × column), 5 mm apart, each with an in-plane shift.
    const n = [0, 0.317, 0.948];
    const target: SliceRef[] = [0, 1, 2, 3].map((k) => ({ ipp: [-100 + k * 7, -50 + n[1] * 5 * k, n[2] * 5 * k], iop: TILTED, frameOfReferenceUID: 'F' }));
    const src = { ipp: [30, -50 + n[1] * 10.4, n[2] * 10.4], iop: TILTED, frameOfReferenceUID: 'F' };
    expect(matchSlice(src, target)).toMatchObject({ index: 2, method: 'position' });
    expect(matchSlice(src, target).distance).toBeCloseTo(0.4, 2);
  });

  it('another Frame of Reference: by Slice Location, not by position (the frames do not share an origin)', () => {
    const target = stack([0, 5, 10, 15], { frameOfReferenceUID: '9.9' }).map((t, i) => ({ ...t, sliceLocation: 100 + 5 * i }));
    // By position this would be index 3 (z 15); by Slice Location 111 it is index 2 (110).
    expect(matchSlice({ ipp: [0, 0, 15], iop: AXIAL, frameOfReferenceUID: '1.2.3', sliceLocation: 111 }, target)).toEqual({ index: 2, method: 'slice-location', distance: expect.closeTo(1, 6) });
  });

  it('no shared frame and no Slice Location on both sides: no match', () => {
    expect(matchSlice({ ipp: [0, 0, 15], iop: AXIAL, frameOfReferenceUID: '1.2.3' }, stack([0, 5], { frameOfReferenceUID: '4.5' }))).toEqual({ index: -1, method: 'none', distance: Infinity });
    expect(matchSlice({ ipp: [0, 0, 15], iop: AXIAL }, stack([0, 5]))).toMatchObject({ method: 'none' });
    expect(matchSlice({ sliceLocation: 3 }, [])).toMatchObject({ index: -1 });
  });

  it('same frame but a target slice without a position falls back to Slice Location', () => {
    const target: SliceRef[] = [{ frameOfReferenceUID: 'F', sliceLocation: 0 }, { frameOfReferenceUID: 'F', ipp: [0, 0, 5], iop: AXIAL, sliceLocation: 5 }];
    expect(matchSlice({ frameOfReferenceUID: 'F', ipp: [0, 0, 4], iop: AXIAL, sliceLocation: 4 }, target)).toMatchObject({ index: 1, method: 'slice-location' });
  });
});
