import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import dcmjs from 'dcmjs';
import { orderSlices, sliceNormal, isIrregular, type SliceGeometry } from './sliceOrder';
import { buildStack } from './stack';
import type { DicomJson } from './dicomJson';
import { headCtFiles } from '../../../scripts/lib/demo-data';

/** The real GE head CT headers (gantry tilt, irregular spacing), read with dcmjs, without pixel data. */
function headCtHeaders(): { file: string; sop: string; ipp: number[]; iop: number[]; instanceNumber: number; json: DicomJson }[] {
  return headCtFiles().map((file) => {
    const buf = fs.readFileSync(file);
    const dict = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer, { untilTag: '7FE00010' });
    const nat = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict) as Record<string, unknown>;
    const ipp = (nat.ImagePositionPatient as (number | string)[]).map(Number);
    const iop = (nat.ImageOrientationPatient as (number | string)[]).map(Number);
    const json: DicomJson = {
      '00080018': { vr: 'UI', Value: [nat.SOPInstanceUID] },
      '0020000E': { vr: 'UI', Value: [nat.SeriesInstanceUID] },
      '00200013': { vr: 'IS', Value: [Number(nat.InstanceNumber)] },
      '00200032': { vr: 'DS', Value: ipp },
      '00200037': { vr: 'DS', Value: iop },
    };
    return { file, sop: nat.SOPInstanceUID as string, ipp, iop, instanceNumber: Number(nat.InstanceNumber), json };
  });
}

function shuffle<T>(a: T[], seed = 7): T[] {
  const out = [...a];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('slice ordering', () => {
  it('computes the unit normal of a tilted plane', () => {
    const n = sliceNormal([1, 0, 0, 0, 0.9483237, -0.3173047])!;
    expect(Math.hypot(...n)).toBeCloseTo(1, 6);
    expect(n[0]).toBeCloseTo(0, 6);
    expect(n[1]).toBeCloseTo(0.3173, 3);
    expect(n[2]).toBeCloseTo(0.9483, 3);
    expect(sliceNormal([1, 0, 0, 1, 0, 0])).toBeUndefined();
    expect(sliceNormal(undefined)).toBeUndefined();
  });

  it('orders the real gantry-tilted, irregularly spaced head CT by position, whatever the input order', () => {
    const headers = headCtHeaders();
    expect(headers).toHaveLength(28);
    const n = sliceNormal(headers[0].iop)!;
    const expected = [...headers].sort((a, b) => a.ipp[0] * n[0] + a.ipp[1] * n[1] + a.ipp[2] * n[2] - (b.ipp[0] * n[0] + b.ipp[1] * n[1] + b.ipp[2] * n[2])).map((h) => h.sop);
    for (const seed of [1, 2, 3]) {
      const r = buildStack(shuffle(headers, seed).map((h) => h.json));
      expect(r.method).toBe('position');
      expect(r.entries.map((e) => e.sopInstanceUID)).toEqual(expected);
      for (let i = 1; i < r.positions!.length; i++) expect(r.positions![i]).toBeGreaterThan(r.positions![i - 1]);
      // The series really is irregular (a 1.14 mm gap among ~4.2 and ~7.4 mm ones).
      expect(isIrregular(r.positions!)).toBe(true);
    }
  });

  it('does not follow instance numbers or file names when they disagree with position', () => {
    const headers = headCtHeaders();
    // Scramble instance numbers: position must still win.
    const scrambled = headers.map((h, i) => ({ ...h.json, '00200013': { vr: 'IS', Value: [(i * 11) % 28] } }));
    const r = buildStack(scrambled);
    const n = sliceNormal(headers[0].iop)!;
    const pos = r.entries.map((e) => {
      const h = headers.find((x) => x.sop === e.sopInstanceUID)!;
      return h.ipp[0] * n[0] + h.ipp[1] * n[1] + h.ipp[2] * n[2];
    });
    for (let i = 1; i < pos.length; i++) expect(pos[i]).toBeGreaterThan(pos[i - 1]);
  });

  it('sorts a hand-built tilted stack with irregular gaps along the normal, not along z', () => {
    const iop = [1, 0, 0, 0, Math.cos(0.3), -Math.sin(0.3)];
    const n = sliceNormal(iop)!;
    const distances = [0, 5, 7.5, 20, 21, 40];
    // Positions along the normal plus an in-plane shift that would fool a z-only sort.
    const slices: SliceGeometry[] = distances.map((d, i) => ({ ipp: [n[0] * d, n[1] * d + (i % 2 ? 30 : -30) * Math.cos(0.3), n[2] * d - (i % 2 ? 30 : -30) * Math.sin(0.3)], iop, instanceNumber: 100 - i }));
    const r = orderSlices(shuffle(slices, 5), (s) => s);
    expect(r.method).toBe('position');
    expect(r.positions!.map((p) => Math.round(p * 10) / 10)).toEqual(distances);
  });

  it('falls back to instance number, then frame, when positions are missing', () => {
    const r = orderSlices(
      [
        { instanceNumber: 3 },
        { instanceNumber: 1, frame: 2 },
        { instanceNumber: 1, frame: 1 },
        { instanceNumber: 2 },
      ] as SliceGeometry[],
      (s) => s,
    );
    expect(r.method).toBe('instance-number');
    expect(r.items.map((s) => `${s.instanceNumber}.${s.frame ?? 0}`)).toEqual(['1.1', '1.2', '2.0', '3.0']);
  });

  it('expands a classic multi-frame instance into frames in frame order', () => {
    const inst: DicomJson = {
      '00080018': { vr: 'UI', Value: ['1.2.3'] },
      '0020000E': { vr: 'UI', Value: ['1.2'] },
      '00280008': { vr: 'IS', Value: [16] },
      '00200032': { vr: 'DS', Value: [0, 0, 0] },
      '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    };
    const r = buildStack([inst]);
    expect(r.entries.map((e) => e.frameNumber)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(r.entries.every((e) => e.sopInstanceUID === '1.2.3')).toBe(true);
  });

  it('orders enhanced multi-frame frames by their per-frame plane positions', () => {
    const frame = (z: number): DicomJson => ({ '00209113': { vr: 'SQ', Value: [{ '00200032': { vr: 'DS', Value: [0, 0, z] } }] } });
    const inst: DicomJson = {
      '00080018': { vr: 'UI', Value: ['9.9'] },
      '00280008': { vr: 'IS', Value: [3] },
      '52009229': { vr: 'SQ', Value: [{ '00209116': { vr: 'SQ', Value: [{ '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] } }] } }] },
      '52009230': { vr: 'SQ', Value: [frame(10), frame(-5), frame(2)] },
    };
    const r = buildStack([inst]);
    expect(r.method).toBe('position');
    expect(r.entries.map((e) => e.frameNumber)).toEqual([2, 3, 1]);
  });
});
