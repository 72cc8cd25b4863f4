import { describe, expect, it } from 'vitest';
import { applyAffine, boxCorners, dragBox, gridToCanvasAffine, heatmapToRGBA, imageToHeatmapCell, imageToWorld, parallelScaleToFit, resampleHeatmap, scaleBox, worldToImage, type ImagePlane, type Vec2 } from './geometry.js';

// The head CT's real plane: gantry tilt (IOP 1,0,0 / 0,0.948,-0.317), 0.488 mm pixels.
const tilted: ImagePlane = {
  origin: [-125, -110.3, 40.2],
  rowCosines: [1, 0, 0],
  columnCosines: [0, Math.sqrt(1 - 0.317 ** 2), -0.317], // unit length, as IOP should be
  columnSpacing: 0.488,
  rowSpacing: 0.488,
  columns: 512,
  rows: 512,
};

const close = (a: number[], b: number[], eps = 1e-6) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i], -Math.log10(eps)));

describe('image <-> world', () => {
  it('puts the centre of pixel (0,0) at ImagePositionPatient', () => {
    close(imageToWorld(tilted, [0.5, 0.5]), tilted.origin);
  });
  it('moves along the row cosines by the column spacing', () => {
    const w = imageToWorld(tilted, [10.5, 0.5]);
    close(w, [-125 + 10 * 0.488, -110.3, 40.2]);
    const v = imageToWorld(tilted, [0.5, 10.5]);
    close(v, [-125, -110.3 + 10 * 0.488 * Math.sqrt(1 - 0.317 ** 2), 40.2 - 10 * 0.488 * 0.317]);
  });
  it('round-trips on a tilted plane and with anisotropic pixels', () => {
    const aniso: ImagePlane = { ...tilted, columnSpacing: 0.7, rowSpacing: 1.3 };
    for (const p of [[0, 0], [511.25, 3], [100.5, 400.75]] as Vec2[]) close(worldToImage(aniso, imageToWorld(aniso, p)), p);
  });
});

describe('image -> canvas (projection supplied by the viewport)', () => {
  // A camera that zooms x2.5 and pans by (30, -12): what worldToCanvas would do in-plane.
  const project = (p: Vec2): Vec2 => [p[0] * 2.5 + 30, p[1] * 2.5 - 12];
  it('maps the box corners through the projection', () => {
    const c = boxCorners({ x: 10, y: 20, width: 4, height: 8 }).map(project);
    expect(c).toEqual([[55, 38], [65, 38], [65, 58], [55, 58]]);
  });
  it('registers a coarse heatmap grid to the image extent', () => {
    const m = gridToCanvasAffine({ columns: 512, rows: 256 }, 16, 8, project);
    // grid corner (16, 8) is the image corner (512, 256)
    close(applyAffine(m, [16, 8]), project([512, 256]));
    // grid cell (1,1) starts at image pixel (32, 32)
    close(applyAffine(m, [1, 1]), project([32, 32]));
  });
});

describe('heatmaps', () => {
  it('finds the cell of an image point when the grids differ', () => {
    expect(imageToHeatmapCell({ width: 16, height: 16 }, { columns: 512, rows: 512 }, [100, 300])).toEqual([3, 9]);
    expect(imageToHeatmapCell({ width: 16, height: 16 }, { columns: 512, rows: 512 }, [512, 512])).toEqual([15, 15]);
  });
  it('resamples bilinearly with aligned cell centres', () => {
    const up = resampleHeatmap([0, 1, 2, 3], 2, 2, 4, 4);
    expect(up.length).toBe(16);
    expect(up[0]).toBeCloseTo(0); // clamped corner
    expect(up[15]).toBeCloseTo(3);
    expect(up[1]).toBeCloseTo(0.25); // between 0 and 1, a quarter of the way
    // downsampling a constant stays constant
    expect([...resampleHeatmap(new Array(64).fill(0.7), 8, 8, 3, 3)].every((v) => Math.abs(v - 0.7) < 1e-6)).toBe(true);
    // a hot spot stays where it was in relative position
    const hot = new Array(64).fill(0);
    hot[2 * 8 + 6] = 1; // column 6, row 2 of 8x8
    const big = resampleHeatmap(hot, 8, 8, 64, 64);
    let best = 0;
    for (let k = 1; k < big.length; k++) if (big[k] > big[best]) best = k;
    expect(Math.floor((best % 64) / 8)).toBe(6);
    expect(Math.floor(Math.floor(best / 64) / 8)).toBe(2);
  });
  it('colours high values red and leaves the floor transparent', () => {
    const px = heatmapToRGBA([0, 1], { min: 0, max: 1 }, 0.5);
    expect(px[3]).toBe(0);
    expect(px[4]).toBeGreaterThan(200); // red
    expect(px[6]).toBe(0); // no blue
    expect(px[7]).toBe(128);
  });
});

describe('camera fit and box edits', () => {
  it('zooms so that the box fills a third of the tighter dimension', () => {
    const s = parallelScaleToFit(20, 10, 1200, 800);
    // vertical extent 2s; horizontal 2s*1.5
    expect(Math.max(10 / (2 * s), 20 / (2 * s * 1.5))).toBeCloseTo(1 / 3);
  });
  it('drags edges and keeps a minimum size', () => {
    expect(dragBox({ x: 10, y: 10, width: 20, height: 20 }, 'se', 5, -3)).toEqual({ x: 10, y: 10, width: 25, height: 17 });
    expect(dragBox({ x: 10, y: 10, width: 20, height: 20 }, 'w', 50, 0)).toEqual({ x: 29, y: 10, width: 1, height: 20 });
    expect(dragBox({ x: 10, y: 10, width: 20, height: 20 }, 'move', 1, 2)).toEqual({ x: 11, y: 12, width: 20, height: 20 });
  });
  it('scales about the centre', () => {
    expect(scaleBox({ x: 10, y: 10, width: 20, height: 10 }, 1.5)).toEqual({ x: 5, y: 7.5, width: 30, height: 15 });
  });
});
