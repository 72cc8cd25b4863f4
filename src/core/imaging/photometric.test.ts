import { describe, expect, it } from 'vitest';
import { displayBrightness, renderInverted, storedIsInverted, userInvertFromRender, isColor } from './photometric';

describe('MONOCHROME1 polarity', () => {
  it('MONOCHROME1 is inverted at rest, MONOCHROME2 and colour are not', () => {
    expect(storedIsInverted('MONOCHROME1')).toBe(true);
    expect(storedIsInverted('MONOCHROME1 ')).toBe(true);
    expect(storedIsInverted('MONOCHROME2')).toBe(false);
    expect(storedIsInverted('RGB')).toBe(false);
    expect(storedIsInverted(undefined)).toBe(false);
  });

  it("the user's invert toggles relative to the correct presentation", () => {
    expect(renderInverted('MONOCHROME1', false)).toBe(true);
    expect(renderInverted('MONOCHROME1', true)).toBe(false);
    expect(renderInverted('MONOCHROME2', true)).toBe(true);
    for (const p of ['MONOCHROME1', 'MONOCHROME2']) for (const u of [true, false]) expect(userInvertFromRender(p, renderInverted(p, u))).toBe(u);
  });

  it('in a MONOCHROME1 chest film, high stored values (lung) display dark and low ones (mediastinum) bright', () => {
    const range = { lower: 38, upper: 1061 }; // the chest CR's own window, C 550 / W 1024
    const lung = displayBrightness(900, range, 'MONOCHROME1');
    const mediastinum = displayBrightness(300, range, 'MONOCHROME1');
    expect(lung).toBeLessThan(mediastinum);
    // The same values as MONOCHROME2 would be a negative.
    expect(displayBrightness(900, range, 'MONOCHROME2')).toBeGreaterThan(displayBrightness(300, range, 'MONOCHROME2'));
  });

  it('clamps outside the window', () => {
    expect(displayBrightness(-1000, { lower: 0, upper: 100 }, 'MONOCHROME2')).toBe(0);
    expect(displayBrightness(1000, { lower: 0, upper: 100 }, 'MONOCHROME1')).toBe(0);
  });

  it('knows colour photometrics', () => {
    expect(isColor('RGB')).toBe(true);
    expect(isColor('YBR_FULL_422')).toBe(true);
    expect(isColor('MONOCHROME2')).toBe(false);
  });
});
