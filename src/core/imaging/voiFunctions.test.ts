/**
 * VOI LUT functions and the VOI LUT Sequence against PS3.3 C.11.2.1.1–C.11.2.1.3, each expected
 * value worked out by hand from the standard's formula (shown beside it), not by calling the code.
 */
import { describe, expect, it } from 'vitest';
import { displayLut, parseVoiFunction, parseVoiLut, voiLutOutput, voiOutput } from './voi';

const W = { center: 40, width: 80 };

describe('VOI LUT Function (PS3.3 C.11.2.1.2/3)', () => {
  it('reads the attribute; anything unknown is LINEAR, the default', () => {
    expect(parseVoiFunction('SIGMOID')).toBe('SIGMOID');
    expect(parseVoiFunction('LINEAR_EXACT ')).toBe('LINEAR_EXACT');
    expect(parseVoiFunction(undefined)).toBe('LINEAR');
    expect(parseVoiFunction('CUBIC')).toBe('LINEAR');
  });

  it('LINEAR: thresholds at c − 0.5 ∓ (w−1)/2, ((x − (c − 0.5))/(w − 1) + 0.5)·255 between', () => {
    // c = 40, w = 80: lower threshold 40 − 0.5 − 39.5 = 0, upper 40 − 0.5 + 39.5 = 79.
    expect(voiOutput(-1000, W, 'LINEAR')).toBe(0);
    expect(voiOutput(0, W, 'LINEAR')).toBe(0); // x ≤ 0
    expect(voiOutput(1, W, 'LINEAR')).toBeCloseTo(3.227848, 5); // (−38.5/79 + 0.5)·255 = 255/79
    expect(voiOutput(40, W, 'LINEAR')).toBeCloseTo(129.113924, 5); // (0.5/79 + 0.5)·255
    expect(voiOutput(79, W, 'LINEAR')).toBeCloseTo(255, 9); // (39.5/79 + 0.5)·255, the last value inside
    expect(voiOutput(80, W, 'LINEAR')).toBe(255); // x > 79
    // w = 1: both thresholds are c − 0.5, a pure step.
    expect(voiOutput(39, { center: 40, width: 1 }, 'LINEAR')).toBe(0);
    expect(voiOutput(40, { center: 40, width: 1 }, 'LINEAR')).toBe(255);
  });

  it('LINEAR_EXACT: thresholds at c ∓ w/2, ((x − c)/w + 0.5)·255 between', () => {
    expect(voiOutput(0, W, 'LINEAR_EXACT')).toBe(0); // x ≤ 40 − 40
    expect(voiOutput(1, W, 'LINEAR_EXACT')).toBeCloseTo(3.1875, 9); // (−39/80 + 0.5)·255
    expect(voiOutput(20, W, 'LINEAR_EXACT')).toBeCloseTo(63.75, 9); // 0.25·255
    expect(voiOutput(40, W, 'LINEAR_EXACT')).toBeCloseTo(127.5, 9);
    expect(voiOutput(80, W, 'LINEAR_EXACT')).toBeCloseTo(255, 9); // (40/80 + 0.5)·255, still inside
    expect(voiOutput(81, W, 'LINEAR_EXACT')).toBe(255);
    // Not the same as LINEAR: at c the two differ by 255/(2·79) = 1.6139...
    expect(voiOutput(40, W, 'LINEAR') - voiOutput(40, W, 'LINEAR_EXACT')).toBeCloseTo(1.613924, 5);
    // A window narrower than 1 is allowed here (w > 0, unlike LINEAR): c = 0.25, w = 0.5 gives 127.5 at c.
    expect(voiOutput(0.25, { center: 0.25, width: 0.5 }, 'LINEAR_EXACT')).toBeCloseTo(127.5, 9);
  });

  it('SIGMOID: 255 / (1 + exp(−4 (x − c)/w))', () => {
    expect(voiOutput(40, W, 'SIGMOID')).toBeCloseTo(127.5, 9); // 255/2
    expect(voiOutput(80, W, 'SIGMOID')).toBeCloseTo(224.603255, 5); // 255/(1 + e^−2) = 255/1.1353352832
    expect(voiOutput(0, W, 'SIGMOID')).toBeCloseTo(30.396745, 5); // 255/(1 + e^2) = 255/8.3890561
    expect(voiOutput(80, W, 'SIGMOID') + voiOutput(0, W, 'SIGMOID')).toBeCloseTo(255, 9); // symmetric about c
    // Another output range: (yMax − yMin)/(1 + …) + yMin, 4095/2 at c.
    expect(voiOutput(40, W, 'SIGMOID', 0, 4095)).toBeCloseTo(2047.5, 9);
    expect(voiOutput(40, W, 'LINEAR_EXACT', 100, 200)).toBeCloseTo(150, 9);
  });
});

describe('VOI LUT Sequence (PS3.3 C.11.2.1.1)', () => {
  const lut = parseVoiLut([4, 100, 12], [0, 1000, 2000, 4095])!;

  it('maps the first value to entry 0, clamps outside, scales 0..2^bits − 1 to 0..255', () => {
    expect(voiLutOutput(99, lut)).toBe(0); // below the first mapped value: first entry
    expect(voiLutOutput(100, lut)).toBe(0);
    expect(voiLutOutput(101, lut)).toBeCloseTo(62.271062, 5); // 1000/4095·255
    expect(voiLutOutput(102, lut)).toBeCloseTo(124.542125, 5); // 2000/4095·255
    expect(voiLutOutput(103, lut)).toBe(255);
    expect(voiLutOutput(5000, lut)).toBe(255); // above the last: last entry
  });

  it('reads the descriptor: 0 entries means 65536, bad bits or no data give no LUT', () => {
    expect(parseVoiLut([0, 0, 16], new Uint16Array(65536))!.data.length).toBe(65536);
    expect(parseVoiLut([4, 0, 0], [1, 2, 3, 4])).toBeNull();
    expect(parseVoiLut([4, 0, 8], [])).toBeNull();
    expect(parseVoiLut([2, 0, 8], [1, 2, 3])!.data.length).toBe(2);
    // A negative first value mapped (signed input): entry 0 at −2.
    expect(voiLutOutput(-2, parseVoiLut([3, -2, 8], [255, 0, 0])!)).toBe(255);
  });
});

describe('display table for the CPU renderer', () => {
  const lut = parseVoiLut([4, 100, 12], [0, 1000, 2000, 4095])!;
  it('one rounded 8-bit entry per integer value, then a 255 guard entry', () => {
    // sigmoid at 38..41 with c 40 w 80: 255/(1+e^0.1) = 121.13, 255/(1+e^0.05) = 124.31, 127.5, 255/(1+e^−0.05) = 130.69
    expect(displayLut(38, 41, { kind: 'function', window: W, fn: 'SIGMOID' })).toEqual({ firstValueMapped: 38, lut: [121, 124, 128, 131, 255] });
    expect(displayLut(99, 104, { kind: 'lut', lut })).toEqual({ firstValueMapped: 99, lut: [0, 0, 62, 125, 255, 255, 255] });
    expect(displayLut(-1, 1, { kind: 'function', window: W, fn: 'LINEAR_EXACT' }).lut).toEqual([0, 0, 3, 255]);
  });
});
