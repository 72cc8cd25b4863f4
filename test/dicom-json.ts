/**
 * Test helpers: real DICOM files as DICOM JSON (PS3.18 F.2, via dcmjs: the model WADO-RS metadata
 * uses), and header variants made with DCMTK's dcmodify in a temp folder (never in ../shared).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
// @ts-ignore dcmjs has no type declarations
import * as dcmjsNs from 'dcmjs';
import type { DicomJson } from '../src/core/imaging/dicomJson.js';

type Dcmjs = { data: { DicomMessage: { readFile(buf: ArrayBuffer): { dict: DicomJson } } } };
const ns = dcmjsNs as unknown as Dcmjs & { default?: Dcmjs };
const dcmjs: Dcmjs = ns.data ? ns : (ns.default as Dcmjs);

export function readDicomJson(file: string): DicomJson {
  const b = fs.readFileSync(file);
  return dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer).dict;
}

/**
 * Copies `files` into a new temp folder and applies dcmodify edits: `{ '(0008,0008)': 'DERIVED\\SECONDARY\\PERFUSION' }`
 * inserts or modifies, a value of null erases the tag. Returns the copies; `cleanup()` removes them.
 */
export function headerVariant(files: string[], edits: Record<string, string | null>, parent = os.tmpdir()): { files: string[]; dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(parent, 'rs-variant-'));
  const out = files.map((f, i) => {
    const to = path.join(dir, `${String(i + 1).padStart(3, '0')}-${path.basename(f)}`);
    fs.copyFileSync(f, to);
    return to;
  });
  const args = ['-nb'];
  for (const [tag, v] of Object.entries(edits)) v === null ? args.push('-ea', tag) : args.push('-i', `${tag}=${v}`);
  execFileSync('dcmodify', [...args, ...out], { stdio: 'pipe' });
  return { files: out, dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
