/**
 * The files `npm start` and the tests upload. Real studies go in as they are; the transfer-syntax
 * samples are rewritten into one "gallery" study (several pydicom MR_small* files share a SOP
 * Instance UID, so as-is they would overwrite each other in Orthanc), plus one instance Orthanc
 * accepts but no browser can decode, so the viewer's per-series error path is exercised on real data.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import dcmjs from 'dcmjs';
import { CHEST_CR, DICOM, MULTIFRAME_FILES, TRANSFER_SYNTAX_FILES, headCtFiles, mrSeriesFiles } from './demo-data.js';

export const GALLERY_PATIENT_ID = 'TSGALLERY';
export const GALLERY_PATIENT_NAME = 'Gallery^Transfer Syntaxes';
export const CORRUPT_SERIES_DESCRIPTION = 'Corrupt JPEG-LS (bad input)';

/** Files Orthanc refuses at import (400): uploaded anyway so the import log shows them rejected. */
export const UNREADABLE_FILES = [path.join(DICOM, 'pydicom', 'test_files', 'MR_truncated.dcm'), path.join(DICOM, 'pydicom', 'test_files', 'no_meta.dcm')];

/** Deterministic UID under the 2.25 root (UUID-derived form): same input, same UID on every run. */
export function uidFor(name: string): string {
  const hex = crypto.createHash('sha256').update(name).digest('hex').slice(0, 32);
  return `2.25.${BigInt('0x' + hex).toString()}`;
}

export const GALLERY_STUDY_UID = uidFor('reading-station/ts-gallery/study');

export interface GalleryEntry {
  syntax: string;
  transferSyntaxUID: string;
  source: string;
  file: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  /** True for the deliberately undecodable instance. */
  corrupt?: boolean;
}

/** Rewrites the identifying attributes with dcmjs, leaving the (compressed) pixel data as it is. */
function rewriteWithDcmjs(src: string, dest: string, attrs: Record<string, string>): void {
  const buf = fs.readFileSync(src);
  const dict = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer);
  const vr: Record<string, string> = { '00100010': 'PN', '00200011': 'IS', '00200013': 'IS', '00080020': 'DA', '0008103E': 'LO', '00081030': 'LO', '00100020': 'LO' };
  for (const [tag, value] of Object.entries(attrs)) dict.dict[tag] = { vr: vr[tag] ?? 'UI', Value: [tag === '00100010' ? { Alphabetic: value } : value] };
  dict.meta['00020003'] = { vr: 'UI', Value: [attrs['00080018']] };
  fs.writeFileSync(dest, Buffer.from(dict.write({ fragmentMultiframe: false })));
}

function rewrite(src: string, dest: string, series: string, sop: string, description: string, seriesNumber: number): void {
  fs.copyFileSync(src, dest);
  try {
    execFileSync(
      'dcmodify',
      [
        '-nb', // no .bak next to the copy
        '-i', `(0010,0010)=${GALLERY_PATIENT_NAME}`,
        '-i', `(0010,0020)=${GALLERY_PATIENT_ID}`,
        '-i', `(0020,000D)=${GALLERY_STUDY_UID}`,
        '-i', `(0020,000E)=${series}`,
        '-i', `(0008,0018)=${sop}`,
        '-i', `(0008,103E)=${description}`,
        '-i', `(0008,1030)=Transfer syntax gallery`,
        '-i', `(0020,0011)=${seriesNumber}`,
        '-i', `(0020,0013)=1`,
        '-i', `(0008,0020)=20260101`,
        dest,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch {
    // DCMTK 3.6.7 cannot parse transfer syntaxes newer than it (HTJ2K, 1.2.840.10008.1.2.4.20x):
    // dcmjs rewrites those without touching the compressed pixel data.
    rewriteWithDcmjs(src, dest, {
      '00100010': GALLERY_PATIENT_NAME,
      '00100020': GALLERY_PATIENT_ID,
      '0020000D': GALLERY_STUDY_UID,
      '0020000E': series,
      '00080018': sop,
      '0008103E': description,
      '00081030': 'Transfer syntax gallery',
      '00200011': String(seriesNumber),
      '00200013': '1',
      '00080020': '20260101',
    });
  }
}

/** Byte offset of the first pixel-data fragment (after the basic offset table) in an encapsulated file. */
export function firstFragmentOffset(buf: Buffer): { offset: number; length: number } {
  // (7FE0,0010) OB with undefined length, little endian: E0 7F 10 00 'O' 'B' 00 00 FF FF FF FF
  const tag = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff]);
  const at = buf.lastIndexOf(tag);
  if (at < 0) throw new Error('no encapsulated pixel data');
  let p = at + tag.length;
  const item = (q: number) => buf.readUInt16LE(q) === 0xfffe && buf.readUInt16LE(q + 2) === 0xe000;
  if (!item(p)) throw new Error('no offset table item');
  p += 8 + buf.readUInt32LE(p + 4); // skip the basic offset table
  if (!item(p)) throw new Error('no first fragment');
  return { offset: p + 8, length: buf.readUInt32LE(p + 4) };
}

/**
 * Overwrites the start of the compressed bitstream (the JPEG-LS SOI/SOF headers) with zeros:
 * Orthanc stores the file (it never decodes on import), the browser's decoder must refuse it.
 */
function corruptBitstream(file: string): void {
  const buf = fs.readFileSync(file);
  const { offset, length } = firstFragmentOffset(buf);
  buf.fill(0, offset, offset + Math.min(64, length));
  fs.writeFileSync(file, buf);
}

export function prepareGallery(workDir: string): GalleryEntry[] {
  const dir = path.join(workDir, 'ts-gallery');
  fs.mkdirSync(dir, { recursive: true });
  const out: GalleryEntry[] = [];
  TRANSFER_SYNTAX_FILES.forEach((t, i) => {
    const series = uidFor(`reading-station/ts-gallery/series/${t.file}`);
    const sop = uidFor(`reading-station/ts-gallery/sop/${t.file}`);
    const dest = path.join(dir, `${String(i + 1).padStart(2, '0')}-${path.basename(t.file)}`);
    rewrite(path.join(DICOM, t.file), dest, series, sop, t.syntax, i + 1);
    out.push({ syntax: t.syntax, transferSyntaxUID: t.uid, source: t.file, file: dest, seriesInstanceUID: series, sopInstanceUID: sop });
  });
  const badSrc = 'pydicom/test_files/MR_small_jpeg_ls_lossless.dcm';
  const bad = path.join(dir, '99-corrupt-jpeg-ls.dcm');
  const badSeries = uidFor('reading-station/ts-gallery/series/corrupt');
  const badSop = uidFor('reading-station/ts-gallery/sop/corrupt');
  rewrite(path.join(DICOM, badSrc), bad, badSeries, badSop, CORRUPT_SERIES_DESCRIPTION, 99);
  corruptBitstream(bad);
  out.push({ syntax: CORRUPT_SERIES_DESCRIPTION, transferSyntaxUID: '1.2.840.10008.1.2.4.80', source: badSrc, file: bad, seriesInstanceUID: badSeries, sopInstanceUID: badSop, corrupt: true });
  return out;
}

/** Every file to upload, in a stable order; the unreadable ones last (Orthanc rejects them, and says so). */
export async function prepareDemoFiles(workDir: string): Promise<string[]> {
  fs.mkdirSync(workDir, { recursive: true });
  const gallery = prepareGallery(workDir);
  return [
    ...headCtFiles(),
    ...mrSeriesFiles(),
    CHEST_CR,
    ...MULTIFRAME_FILES.map((f) => path.join(DICOM, f)),
    ...gallery.map((g) => g.file),
    ...UNREADABLE_FILES,
  ];
}
