/** Pixel data for inference, fetched from Orthanc: decoded and rescaled by Orthanc (any transfer syntax it reads). */
import { orthancFetch, orthancGet, OrthancError, type OrthancClient as OrthancAccess } from '../orthanc/client.js';

export interface PrereadSlice {
  sopInstanceUID: string;
  seriesInstanceUID: string;
  instanceNumber: number | null;
  rows: number;
  columns: number;
  /** Modality units (HU for CT): RescaleSlope/Intercept applied, row-major, first frame. */
  pixels: Float32Array;
  imagePositionPatient: number[] | null;
  imageOrientationPatient: number[] | null;
  pixelSpacing: number[] | null;
  photometricInterpretation: string;
  sopClassUID?: string;
}

const nums = (v: unknown): number[] | null => {
  if (typeof v !== 'string' || !v.trim()) return null;
  const a = v.split('\\').map(Number);
  return a.every(Number.isFinite) ? a : null;
};

/** Parses a .npy (v1/v2) float32/int16/uint16/uint8 array into Float32Array with its shape. */
export function parseNpy(buf: Uint8Array): { shape: number[]; data: Float32Array } {
  if (buf[0] !== 0x93 || String.fromCharCode(...buf.subarray(1, 6)) !== 'NUMPY') throw new Error('not a .npy payload');
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error('fortran-order .npy not supported');
  const off = start + headerLen;
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  const get: Record<string, (i: number) => number> = {
    '<f4': (i) => dv.getFloat32(off + 4 * i, true),
    '<f8': (i) => dv.getFloat64(off + 8 * i, true),
    '<i2': (i) => dv.getInt16(off + 2 * i, true),
    '<u2': (i) => dv.getUint16(off + 2 * i, true),
    '|u1': (i) => dv.getUint8(off + i),
  };
  const g = descr ? get[descr] : undefined;
  if (!g) throw new Error(`unsupported .npy dtype ${descr}`);
  for (let i = 0; i < count; i++) out[i] = g(i);
  return { shape, data: out };
}

/** One instance's first frame, decoded and rescaled by Orthanc, with what ordering and the guard need. */
export async function fetchInstanceSlice(o: OrthancAccess, instanceId: string): Promise<PrereadSlice & { rescaleType: string | null; units: string | null }> {
  const tags = await orthancGet<Record<string, unknown>>(o, `/instances/${instanceId}/simplified-tags`);
  // A whole frame decoded by Orthanc can take longer than a JSON call: its own, longer timeout.
  const r = await orthancFetch(o, `/instances/${instanceId}/frames/0/numpy?rescale=true`, { timeoutMs: 60_000 });
  if (!r.ok) throw new OrthancError(`Orthanc could not decode instance ${String(tags.SOPInstanceUID)}: HTTP ${r.status}`, r.status);
  const { shape, data } = parseNpy(new Uint8Array(await r.arrayBuffer()));
  const rows = Number(tags.Rows ?? shape[0]);
  const columns = Number(tags.Columns ?? shape[1]);
  // Colour images arrive as (rows, columns, 3): keep the luminance-ish first channel.
  const channels = shape[2] ?? 1;
  const pixels = channels === 1 ? data : data.filter((_, i) => i % channels === 0);
  const str = (k: string) => (typeof tags[k] === 'string' && (tags[k] as string).trim() ? (tags[k] as string).trim() : null);
  return {
    sopInstanceUID: String(tags.SOPInstanceUID),
    seriesInstanceUID: String(tags.SeriesInstanceUID),
    instanceNumber: tags.InstanceNumber !== undefined ? Number(tags.InstanceNumber) : null,
    rows,
    columns,
    pixels,
    imagePositionPatient: nums(tags.ImagePositionPatient),
    imageOrientationPatient: nums(tags.ImageOrientationPatient),
    pixelSpacing: nums(tags.PixelSpacing),
    photometricInterpretation: typeof tags.PhotometricInterpretation === 'string' ? tags.PhotometricInterpretation : 'MONOCHROME2',
    sopClassUID: typeof tags.SOPClassUID === 'string' ? tags.SOPClassUID : undefined,
    rescaleType: str('RescaleType'),
    units: str('Units'),
  };
}

/** All slices of one series, ordered along the slice normal (fallback: instance number). */
export async function fetchSeriesSlices(o: OrthancAccess, seriesId: string): Promise<PrereadSlice[]> {
  const instances = await orthancGet<{ ID: string }[]>(o, `/series/${seriesId}/instances`);
  const slices: PrereadSlice[] = [];
  for (const inst of instances) slices.push(await fetchInstanceSlice(o, inst.ID));
  return sortSlices(slices);
}

export interface Positioned {
  instanceNumber: number | null;
  imagePositionPatient: number[] | null;
  imageOrientationPatient: number[] | null;
}

/** Stack order: along the slice normal when every slice has a position, else by instance number. */
export function sortSlices<T extends Positioned>(slices: T[]): T[] {
  const o = slices.find((s) => s.imageOrientationPatient?.length === 6)?.imageOrientationPatient;
  if (o && slices.every((s) => s.imagePositionPatient?.length === 3)) {
    const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
    const d = (s: T) => s.imagePositionPatient![0] * n[0] + s.imagePositionPatient![1] * n[1] + s.imagePositionPatient![2] * n[2];
    return [...slices].sort((a, b) => d(a) - d(b));
  }
  return [...slices].sort((a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0));
}
