import { describe, expect, it } from 'vitest';
import { directionLabel, orientationMarkers, scaleBar } from './orientation';

describe('orientation markers from Image Orientation (Patient)', () => {
  it('axial, coronal and sagittal planes read as radiologists expect', () => {
    // Axial (rows to the patient's left, columns to posterior): R on the screen's left, A at the top.
    expect(orientationMarkers([1, 0, 0, 0, 1, 0])).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
    // Coronal (columns towards the feet): head at the top.
    expect(orientationMarkers([1, 0, 0, 0, 0, -1])).toEqual({ left: 'R', right: 'L', top: 'H', bottom: 'F' });
    // Sagittal (rows to posterior): anterior on the left.
    expect(orientationMarkers([0, 1, 0, 0, 0, -1])).toEqual({ left: 'A', right: 'P', top: 'H', bottom: 'F' });
  });

  it('names an oblique axis by its parts (the shared head CT: gantry tilt, columns 0.948 P, 0.317 F)', () => {
    expect(orientationMarkers([1, 0, 0, 0, 0.948, -0.317])).toEqual({ left: 'R', right: 'L', top: 'AH', bottom: 'PF' });
    expect(directionLabel([0.2, 0.97, 0])).toBe('P'); // 0.2 is under a quarter
    expect(directionLabel([0, 0, 0])).toBe('');
  });

  it('follows flips and rotation, and gives none without a valid orientation', () => {
    expect(orientationMarkers([1, 0, 0, 0, 1, 0], { flipH: true })).toEqual({ left: 'L', right: 'R', top: 'A', bottom: 'P' });
    expect(orientationMarkers([1, 0, 0, 0, 1, 0], { rotation: 90 })).toEqual({ top: 'R', right: 'A', bottom: 'L', left: 'P' });
    expect(orientationMarkers(undefined)).toBeNull();
    expect(orientationMarkers([1, 0, 0])).toBeNull();
  });
});

describe('scale bar', () => {
  it('takes the longest 1-2-5 length that fits', () => {
    // 0.5 mm per pixel, 150 px available: 75 mm fit, so 5 cm = 100 px.
    expect(scaleBar(0.5, 150)).toEqual({ mm: 50, px: 100, label: '5 cm' });
    expect(scaleBar(0.05, 150)).toEqual({ mm: 5, px: 100, label: '5 mm' });
    expect(scaleBar(1, 250)).toEqual({ mm: 200, px: 200, label: '20 cm' });
    expect(scaleBar(0, 100)).toBeNull();
  });
});
