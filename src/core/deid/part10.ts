/** Part 10 bytes <-> the tag-keyed dataset the de-identifier works on (dcmjs), keeping the transfer syntax. */
import { dcmjs } from '../sr/dicom.js';
import type { DeidDataset, DicomDict } from './deidentify.js';

interface RawDcmjs {
  DicomMessage: { readFile(buf: ArrayBuffer, opts?: object): { meta: DicomDict; dict: DicomDict } };
  DicomDict: new (meta: object) => { dict: object; write(opts?: object): ArrayBuffer };
}
const raw = dcmjs.data as unknown as RawDcmjs;

export function readDataset(bytes: Uint8Array | ArrayBuffer): DeidDataset {
  const ab = bytes instanceof Uint8Array ? (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer) : bytes;
  const f = raw.DicomMessage.readFile(ab);
  return { meta: f.meta, dict: f.dict };
}

export function writeDataset(ds: DeidDataset): Uint8Array {
  const d = new raw.DicomDict(ds.meta);
  d.dict = ds.dict;
  // What the source carried non-conformant (a DA "1995.07.20") is written as it was: de-identification is
  // not the place to fix it, and refusing would lose the image (dciodvfy compares against the original).
  return new Uint8Array(d.write({ allowInvalidVRLength: true }));
}

/** First value of an attribute as a string ('' when absent). */
export function str(dict: DicomDict, tag: string): string {
  const v = dict[tag]?.Value?.[0];
  if (v == null) return '';
  if (typeof v === 'object' && v && 'Alphabetic' in v) return String((v as { Alphabetic?: string }).Alphabetic ?? '');
  return String(v);
}
