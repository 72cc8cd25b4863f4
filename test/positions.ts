/** SOP Instance UID -> position along the slice normal, read from the files with dcmjs (independent of the app). */
import fs from 'node:fs';
import dcmjs from 'dcmjs';

export function slicePositions(files: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of files) {
    const buf = fs.readFileSync(f);
    const ds = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer, { untilTag: '7FE00010' } as never);
    const nat = dcmjs.data.DicomMetaDictionary.naturalizeDataset(ds.dict) as { SOPInstanceUID: string; ImagePositionPatient: number[]; ImageOrientationPatient: number[] };
    const [r0, r1, r2, c0, c1, c2] = nat.ImageOrientationPatient.map(Number);
    const n = [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0];
    const p = nat.ImagePositionPatient.map(Number);
    out.set(nat.SOPInstanceUID, p[0] * n[0] + p[1] * n[1] + p[2] * n[2]);
  }
  return out;
}
