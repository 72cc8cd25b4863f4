import { describe, expect, it } from 'vitest';
import { PART_END, closing, partHead, readParts } from './partStream';

function streamOf(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    pieces.push(bytes.slice(at, c));
    at = c;
  }
  return new ReadableStream({
    pull(ctl) {
      const p = pieces.shift();
      if (p) ctl.enqueue(p);
      else ctl.close();
    },
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('multipart part stream', () => {
  // A frame whose bytes contain the boundary text itself: a reader that scanned bodies would break.
  const boundary = 'b0und';
  const frame = new TextEncoder().encode(`xx\r\n--${boundary}\r\n\r\nyy`);
  const json = new TextEncoder().encode('{"frames":["/a"]}');
  const whole = concat([
    partHead(boundary, { 'Content-Type': 'application/json' }, json.length),
    json,
    PART_END,
    partHead(boundary, { 'Content-Type': 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1', 'Content-Location': '/dicom-web/a' }, frame.length),
    frame,
    PART_END,
    closing(boundary),
  ]);

  it('reads every part with its headers, however the stream is cut', async () => {
    for (const cuts of [[], [1], [3, 7, 50, 51, 52], Array.from({ length: whole.length - 1 }, (_, i) => i + 1)]) {
      const parts = [];
      for await (const p of readParts(streamOf(whole, cuts), boundary)) parts.push(p);
      expect(parts).toHaveLength(2);
      expect(new TextDecoder().decode(parts[0].body)).toBe('{"frames":["/a"]}');
      expect(parts[1].headers['content-location']).toBe('/dicom-web/a');
      expect([...parts[1].body]).toEqual([...frame]);
    }
  });

  it('says when the stream stops inside a part or before its end', async () => {
    const read = async (bytes: Uint8Array) => {
      for await (const _ of readParts(streamOf(bytes, []), boundary));
    };
    await expect(read(whole.slice(0, whole.length - 30))).rejects.toThrow(/ended inside a part|ended before its closing/);
    await expect(read(whole.slice(0, whole.length - closing(boundary).length))).rejects.toThrow(/ended before its closing delimiter/);
    await expect(read(new TextEncoder().encode('garbage that is long enough'))).rejects.toThrow(/expected a boundary/);
  });
});
