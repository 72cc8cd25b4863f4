/**
 * A longer series built from the shared 28-slice head CT for the viewer bench (how cost grows with
 * the study): the slices are repeated in order as many times as needed, each copy with new SOP,
 * Series and Study Instance UIDs and its Image Position shifted along the slice normal by the whole
 * stack's extent, so the result is one geometrically consistent stack of n slices (positions
 * strictly increasing, same spacing). Written to a temp dir; the shared data is only read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import dcmjs from 'dcmjs';

export interface LongSeries {
  dir: string;
  files: string[];
  studyInstanceUID: string;
  seriesInstanceUID: string;
  /** Per slice, in order: its SOP Instance UID, position and row/column direction (for placing annotations). */
  slices: { sop: string; ipp: number[]; row: number[]; col: number[] }[];
  remove(): void;
}

const uid = () => `2.25.${BigInt('0x' + crypto.randomBytes(15).toString('hex')).toString()}`;

type Elem = { vr: string; Value?: unknown[] };
type Dict = Record<string, Elem>;
const nums = (d: Dict, tag: string) => (d[tag]?.Value ?? []).map(Number);

export function buildLongSeries(sourceFiles: string[], n: number, opts: { studyInstanceUID?: string; seriesNumber?: number } = {}): LongSeries {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rs-bench-${n}-`));
  const read = (f: string) => {
    const b = fs.readFileSync(f);
    return dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer) as { dict: Dict; meta: Dict; write(o?: object): ArrayBuffer };
  };
  // Order the source along its normal, as the viewer will.
  const src = sourceFiles.map((f) => {
    const m = read(f);
    const iop = nums(m.dict, '00200037');
    const ipp = nums(m.dict, '00200032');
    const nrm = [iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3]];
    return { f, ipp, nrm, row: iop.slice(0, 3), col: iop.slice(3, 6), d: ipp[0] * nrm[0] + ipp[1] * nrm[1] + ipp[2] * nrm[2] };
  });
  src.sort((a, b) => a.d - b.d);
  const spacing = src.length > 1 ? (src[src.length - 1].d - src[0].d) / (src.length - 1) : 1;
  const extent = spacing * src.length; // one copy's thickness: the next copy starts one spacing after the last slice
  const studyInstanceUID = opts.studyInstanceUID ?? uid();
  const seriesInstanceUID = uid();
  const files: string[] = [];
  const slices: LongSeries['slices'] = [];
  for (let i = 0; i < n; i++) {
    const s = src[i % src.length];
    const copy = Math.floor(i / src.length);
    const m = read(s.f);
    const sop = uid();
    const pos = s.ipp.map((v, k) => v + s.nrm[k] * extent * copy);
    m.dict['0020000D'] = { vr: 'UI', Value: [studyInstanceUID] };
    m.dict['0020000E'] = { vr: 'UI', Value: [seriesInstanceUID] };
    m.dict['00080018'] = { vr: 'UI', Value: [sop] };
    m.dict['00200032'] = { vr: 'DS', Value: pos.map((v) => Number(v.toFixed(4))) };
    m.dict['00200013'] = { vr: 'IS', Value: [i + 1] };
    m.dict['00201041'] = { vr: 'DS', Value: [Number((s.d + extent * copy).toFixed(4))] };
    m.dict['0008103E'] = { vr: 'LO', Value: [`Head CT x${n} (bench${opts.seriesNumber != null ? ` ${opts.seriesNumber}` : ''})`] };
    m.dict['00080050'] = { vr: 'SH', Value: [`BENCH${n}`] };
    if (opts.seriesNumber != null) m.dict['00200011'] = { vr: 'IS', Value: [opts.seriesNumber] };
    m.meta['00020003'] = { vr: 'UI', Value: [sop] };
    const out = path.join(dir, `${String(i).padStart(4, '0')}.dcm`);
    fs.writeFileSync(out, Buffer.from(m.write({ fragmentMultiframe: false })));
    files.push(out);
    slices.push({ sop, ipp: pos, row: s.row, col: s.col });
  }
  return { dir, files, studyInstanceUID, seriesInstanceUID, slices, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
