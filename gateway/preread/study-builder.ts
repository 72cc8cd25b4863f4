/**
 * Builds new studies from the shared head CT slices (../shared/data, never copied into the repo) for
 * tests, the demo and the bench: files copied to a temp dir, then DCMTK's dcmodify gives them a new
 * Study/Series UID, new SOP Instance UIDs and, when asked, a patient age. Optionally the committed
 * held-out synthetic lesions of the head CT model (models/head-ct-hyperdensity/heldout.json, sparse
 * int16 deltas) are painted into their slices, so the model has something to find: the demo's
 * "critical" study is real pixels plus documented synthetic hyperdensities, and says so.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DICOM, HEAD_CT_DIR, REPO_ROOT } from '../../scripts/lib/demo-data.js';

const run = promisify(execFile);

/** A fresh DICOM UID under the UUID-derived root 2.25 (PS3.5 B.2). */
export function newUid(): string {
  return `2.25.${BigInt('0x' + crypto.randomUUID().replace(/-/g, '')).toString()}`;
}

export interface BuiltStudy {
  dir: string;
  files: string[];
  studyInstanceUID: string;
  seriesInstanceUID: string;
  remove(): void;
}

export interface BuildOptions {
  /** DICOM AS, e.g. '045Y' or '009Y'. */
  patientAge?: string;
  /** Paint the held-out synthetic lesions of the head CT model into their slices. */
  lesions?: boolean;
  /** Only n slices (in file-name order), from index `firstSlice` (0-based; default 0). */
  slices?: number;
  firstSlice?: number;
  /** Keep these UIDs (to send more images into an existing study). */
  studyInstanceUID?: string;
  accessionNumber?: string;
  parentDir?: string;
}

const PIXEL_TAG = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0x00, 0x00]);

interface Heldout {
  cases: { file: string; deltas: { x: number; y: number; width: number; height: number; int16: string }[] }[];
  columns: number;
}

/** Adds int16 deltas to the (uncompressed, explicit VR LE, 16-bit, last element) pixel data of a file. */
function paintDeltas(file: string, deltas: Heldout['cases'][number]['deltas'], columns: number): void {
  const b = fs.readFileSync(file);
  const len = 512 * 512 * 2;
  const off = b.length - len;
  if (off < 12 || !b.subarray(off - 12, off - 4).equals(PIXEL_TAG) || b.readUInt32LE(off - 4) !== len) {
    throw new Error(`${path.basename(file)}: pixel data is not the last element as 512x512 OW; cannot paint lesions`);
  }
  for (const d of deltas) {
    const raw = Buffer.from(d.int16, 'base64');
    for (let y = 0; y < d.height; y++)
      for (let x = 0; x < d.width; x++) {
        const p = off + ((d.y + y) * columns + d.x + x) * 2;
        b.writeInt16LE(Math.max(-32768, Math.min(32767, b.readInt16LE(p) + raw.readInt16LE((y * d.width + x) * 2))), p);
      }
  }
  fs.writeFileSync(file, b);
}

export async function buildHeadCtStudy(opts: BuildOptions = {}): Promise<BuiltStudy> {
  const dir = fs.mkdtempSync(path.join(opts.parentDir ?? os.tmpdir(), 'rs-study-'));
  const names = fs.readdirSync(HEAD_CT_DIR).filter((f) => f.endsWith('.dcm')).sort().slice(opts.firstSlice ?? 0, (opts.firstSlice ?? 0) + (opts.slices ?? Infinity));
  const files = names.map((n) => {
    const to = path.join(dir, n);
    fs.copyFileSync(path.join(HEAD_CT_DIR, n), to);
    return to;
  });
  if (opts.lesions) {
    const h = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'models', 'head-ct-hyperdensity', 'heldout.json'), 'utf8')) as Heldout;
    // heldout.json holds several alternative cases per slice: paint the first of each slice only.
    const painted = new Set<string>();
    for (const c of h.cases) {
      const target = path.join(dir, path.basename(c.file));
      if (painted.has(target) || !path.resolve(DICOM, c.file).startsWith(HEAD_CT_DIR) || !fs.existsSync(target)) continue;
      paintDeltas(target, c.deltas, h.columns);
      painted.add(target);
    }
  }
  const studyInstanceUID = opts.studyInstanceUID ?? newUid();
  const seriesInstanceUID = newUid();
  const args = ['-nb', '-gin', '-m', `(0020,000d)=${studyInstanceUID}`, '-m', `(0020,000e)=${seriesInstanceUID}`];
  if (opts.patientAge) args.push('-i', `(0010,1010)=${opts.patientAge}`);
  if (opts.accessionNumber) args.push('-i', `(0008,0050)=${opts.accessionNumber}`);
  await run('dcmodify', [...args, ...files]);
  return { dir, files, studyInstanceUID, seriesInstanceUID, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Sends files to a DICOM node with DCMTK storescu (C-STORE), as a modality would. */
export async function cStore(files: string[], peer: { host?: string; port: number; aet: string; callingAet?: string }): Promise<void> {
  await run('storescu', ['-aet', peer.callingAet ?? 'RSMODALITY', '-aec', peer.aet, peer.host ?? '127.0.0.1', String(peer.port), ...files], { maxBuffer: 16 * 1024 * 1024 });
}
