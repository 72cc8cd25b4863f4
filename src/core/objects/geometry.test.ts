import { describe, expect, it } from 'vitest';
import { frameOnImage, mapToImage, patientToImage, planeOf, type ImagePlane } from './geometry';

const axial = planeOf([-100, -50, 20], [1, 0, 0, 0, 1, 0], [0.8, 0.5], 512, 512)!;
// Gantry tilt of 30°: columns run down and towards the feet (cos 30° = 0.8660254, sin 30° = 0.5).
const C = Math.cos(Math.PI / 6), S = 0.5;
const tilted: ImagePlane = planeOf([0, 0, 0], [1, 0, 0, 0, C, -S], [1, 1], 256, 256)!;

describe('SCOORD3D: patient coordinates → image pixel coordinates', () => {
  it('axial image, anisotropic spacing (by hand)', () => {
    // dx = 10 mm over 0.5 mm columns → 20 px, dy = 8 mm over 0.8 mm rows → 10 px; +0.5: the Image
    // Position is the centre of the top-left pixel, whose corner is (0,0).
    const r = patientToImage(axial, [-90, -42, 20]);
    expect(r.point[0]).toBeCloseTo(20.5, 9);
    expect(r.point[1]).toBeCloseTo(10.5, 9);
    expect(r.distance).toBeCloseTo(0, 9);
    // 3 mm towards the head (+z, the normal of an axial image): same pixel, 3 mm off the plane.
    const above = patientToImage(axial, [-90, -42, 23]);
    expect(above.point).toEqual(r.point);
    expect(above.distance).toBeCloseTo(3, 9);
  });

  it('tilted image (by hand): P = 10·row + 20·column + 3·normal', () => {
    // normal = row × column = (0, sin 30°, cos 30°)
    const p: [number, number, number] = [10, 20 * C + 3 * S, -20 * S + 3 * C];
    expect(p[1]).toBeCloseTo(18.8205, 3);
    expect(p[2]).toBeCloseTo(-7.4019, 3);
    const r = patientToImage(tilted, p);
    expect(r.point[0]).toBeCloseTo(10.5, 9);
    expect(r.point[1]).toBeCloseTo(20.5, 9);
    expect(r.distance).toBeCloseTo(3, 9);
  });

  it('picks the slice within half its spacing, nearest first; none when every slice is too far', () => {
    const slices = [0, 5, 10].map((z, i) => ({ ref: `slice-${i}`, plane: planeOf([-100, -50, 20 + z], [1, 0, 0, 0, 1, 0], [0.8, 0.5], 512, 512)!, spacing: 5 }));
    // A triangle at z = 26 (6 mm above slice 0, 1 mm above slice 1).
    const tri: [number, number, number][] = [[-90, -42, 26], [-80, -42, 26], [-90, -34, 26]];
    const m = mapToImage(tri, slices)!;
    expect(m.ref).toBe('slice-1');
    expect(m.points.map((p) => p.map((x) => +x.toFixed(6)))).toEqual([[20.5, 10.5], [40.5, 10.5], [20.5, 20.5]]);
    expect(mapToImage([[-90, -42, 20 + 10 + 2.5 + 0.01]], slices)).toBeNull();
    expect(mapToImage([[-90, -42, 20 + 10 + 2.5]], slices)?.ref).toBe('slice-2');
  });
});

describe('a frame of another grid on an image (FoR-only SEG)', () => {
  it('same plane, half the resolution: frame pixel (i, j) covers image pixels (2i, 2j)…(2i+2, 2j+2)', () => {
    const image = planeOf([0, 0, 0], [1, 0, 0, 0, 1, 0], [1, 1], 100, 100)!;
    const frame = planeOf([0.5, 0.5, 0], [1, 0, 0, 0, 1, 0], [2, 2], 50, 50)!;
    const f = frameOnImage(frame, image)!;
    expect(f.distance).toBeCloseTo(0, 9);
    expect(f.affine.map((x) => +x.toFixed(9))).toEqual([2, 0, 0, 2, 0, 0]);
  });

  it('a frame 4 mm away is reported 4 mm away; a perpendicular frame is not placed', () => {
    const image = planeOf([0, 0, 0], [1, 0, 0, 0, 1, 0], [1, 1], 100, 100)!;
    expect(frameOnImage(planeOf([0, 0, 4], [1, 0, 0, 0, 1, 0], [1, 1], 100, 100)!, image)!.distance).toBeCloseTo(4, 9);
    expect(frameOnImage(planeOf([0, 0, 0], [1, 0, 0, 0, 0, -1], [1, 1], 100, 100)!, image)).toBeNull();
  });
});
