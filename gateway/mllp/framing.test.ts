import { describe, it, expect } from 'vitest';
import { FrameDecoder, frame } from './framing.js';

describe('MLLP framing', () => {
  it('reassembles a frame split across reads, byte by byte', () => {
    const d = new FrameDecoder();
    const bytes = frame('MSH|^~\\&|A\rPID|1\r');
    const out: string[] = [];
    for (const b of bytes) out.push(...d.push(Buffer.from([b])));
    expect(out).toEqual(['MSH|^~\\&|A\rPID|1\r']);
  });
  it('splits several frames in one read, and keeps a trailing partial one for later', () => {
    const d = new FrameDecoder();
    const all = Buffer.concat([frame('one'), frame('two'), frame('three')]);
    expect(d.push(all.subarray(0, all.length - 4))).toEqual(['one', 'two']);
    expect(d.push(all.subarray(all.length - 4))).toEqual(['three']);
  });
  it('an FS inside the message without CR does not end the frame; noise before VT is discarded', () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.concat([Buffer.from('junk'), frame('a\x1cb')]))).toEqual(['a\x1cb']);
    expect(d.discarded).toBe(4);
  });
  it('utf-8 split inside a multi-byte character still decodes', () => {
    const d = new FrameDecoder();
    const f = frame('Müller');
    const cut = f.indexOf(0xc3) + 1;
    expect([...d.push(f.subarray(0, cut)), ...d.push(f.subarray(cut))]).toEqual(['Müller']);
  });
  it('refuses a frame that never ends beyond the size limit', () => {
    const d = new FrameDecoder(100);
    expect(() => d.push(Buffer.concat([Buffer.from([0x0b]), Buffer.alloc(200, 65)]))).toThrow(/larger than 100 bytes/);
  });
});
