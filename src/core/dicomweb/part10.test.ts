/**
 * Deflated Explicit VR Little Endian made by dcmtk (`dcmconv +td`) from a real shared CT slice,
 * inflated by inflatePart10: the result must be a file dcmtk reads as Explicit VR Little Endian with
 * exactly the original's pixel data (dcmdump compares, not our own parser).
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { inflatePart10, readFileMeta, transferSyntaxOfFile, DEFLATED_EXPLICIT_LE, EXPLICIT_LE } from './part10';
import { HEAD_CT_DIR } from '../../../scripts/lib/demo-data';

const inflate = async (b: Uint8Array) => new Uint8Array(zlib.inflateRawSync(b));

describe('Deflated Explicit VR Little Endian, inflated before decoding', () => {
  it('a dcmconv +td file becomes Explicit VR Little Endian with the same pixels', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-part10-'));
    try {
      const src = path.join(HEAD_CT_DIR, '10.dcm');
      const deflated = path.join(dir, 'deflated.dcm');
      execFileSync('dcmconv', ['+td', src, deflated]);
      const bytes = new Uint8Array(fs.readFileSync(deflated));
      expect(transferSyntaxOfFile(bytes)).toBe(DEFLATED_EXPLICIT_LE);
      const out = await inflatePart10(bytes, inflate);
      expect(transferSyntaxOfFile(out)).toBe(EXPLICIT_LE);
      // The group length covers exactly the meta elements after it.
      const meta = readFileMeta(out)!;
      const gl = new DataView(meta.elements[0].value.buffer, meta.elements[0].value.byteOffset).getUint32(0, true);
      expect(meta.elements[0].tag).toBe(0x00020000);
      expect(132 + 12 + gl).toBe(meta.dataSetOffset);
      const inflated = path.join(dir, 'inflated.dcm');
      fs.writeFileSync(inflated, out);
      const dump = (f: string, args: string[]) => execFileSync('dcmdump', [...args, f], { encoding: 'utf8', maxBuffer: 1 << 26 });
      expect(dump(inflated, ['-M'])).toMatch(/Used TransferSyntax: Little Endian Explicit/);
      // Every data set element, pixel data included (+W writes it out), equals the original's.
      const px = (f: string) => {
        const d = fs.mkdtempSync(path.join(dir, 'px-'));
        execFileSync('dcmdump', ['+W', d, f]);
        return fs.readFileSync(path.join(d, fs.readdirSync(d)[0]));
      };
      expect(px(inflated).equals(px(src))).toBe(true);
      const body = (f: string) => dump(f, ['-M', '+L']).split('\n').filter((l) => !l.startsWith('#') && !l.startsWith('(0002'));
      expect(body(inflated)).toEqual(body(src));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves other files alone and refuses a corrupt stream', async () => {
    const plain = new Uint8Array(fs.readFileSync(path.join(HEAD_CT_DIR, '10.dcm')));
    expect(await inflatePart10(plain, inflate)).toBe(plain);
    expect(await inflatePart10(new Uint8Array(10), inflate)).toHaveLength(10);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-part10-'));
    try {
      const deflated = path.join(dir, 'd.dcm');
      execFileSync('dcmconv', ['+td', path.join(HEAD_CT_DIR, '10.dcm'), deflated]);
      const bytes = new Uint8Array(fs.readFileSync(deflated));
      const meta = readFileMeta(bytes)!;
      bytes.fill(0xff, meta.dataSetOffset, meta.dataSetOffset + 64);
      await expect(inflatePart10(bytes, inflate)).rejects.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
