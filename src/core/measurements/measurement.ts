/**
 * A radiologist's measurement as it is stored with the study (gateway/measurements): which tool, on
 * which image, its points in patient coordinates (mm, Cornerstone's world), and the figures shown
 * (length, angle, ROI statistics) with their units. Who made or changed it and when are the
 * server's, never the client's. Pure: the same parser runs in the gateway and its tests.
 */
export const MEASUREMENT_TOOLS = ['length', 'angle', 'rectangle', 'ellipse', 'probe'] as const;
export type MeasurementTool = (typeof MEASUREMENT_TOOLS)[number];

export interface MeasurementStats {
  length?: number;
  angle?: number;
  area?: number;
  mean?: number;
  stdDev?: number;
  min?: number;
  max?: number;
  /** A probe's value. */
  value?: number;
  /** 'mm' or 'px' (no Pixel Spacing) for lengths; 'mm²' or 'px²' for areas. */
  unit?: string;
  areaUnit?: string;
  /** 'HU' on CT, else the stored (modality) values' unit or ''. */
  modalityUnit?: string;
}

export interface MeasurementInput {
  tool: MeasurementTool;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  frameNumber: number;
  /** Handle points in patient coordinates (mm). */
  points: [number, number, number][];
  stats: MeasurementStats;
}

export interface Measurement extends MeasurementInput {
  id: string;
  studyInstanceUID: string;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
}

export const MEASUREMENT_ID = /^[A-Za-z0-9._-]{1,64}$/;
const UID = /^[0-9]+(\.[0-9]+)*$/;
const POINTS: Record<MeasurementTool, [number, number]> = { length: [2, 2], angle: [3, 3], rectangle: [2, 4], ellipse: [2, 4], probe: [1, 1] };
const STAT_KEYS = ['length', 'angle', 'area', 'mean', 'stdDev', 'min', 'max', 'value'] as const;
const UNIT_KEYS = ['unit', 'areaUnit', 'modalityUnit'] as const;
/** Fields a client may never send (the server stamps them). */
export const SERVER_FIELDS = ['id', 'studyInstanceUID', 'createdBy', 'createdAt', 'updatedBy', 'updatedAt'] as const;

export function parseMeasurementInput(raw: unknown): { ok: true; value: MeasurementInput } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, errors: ['(root): an object'] };
  const r = raw as Record<string, unknown>;
  for (const k of SERVER_FIELDS) if (k in r) errors.push(`${k}: set by the server, not accepted from a client`);
  const tool = r.tool as MeasurementTool;
  if (!MEASUREMENT_TOOLS.includes(tool)) errors.push(`tool: one of ${MEASUREMENT_TOOLS.join(', ')}`);
  for (const k of ['seriesInstanceUID', 'sopInstanceUID'] as const) if (typeof r[k] !== 'string' || !UID.test(r[k] as string) || (r[k] as string).length > 64) errors.push(`${k}: a DICOM UID`);
  const frame = r.frameNumber;
  if (typeof frame !== 'number' || !Number.isInteger(frame) || frame < 1 || frame > 100000) errors.push('frameNumber: an integer ≥ 1');
  const pts = r.points;
  const [minPts, maxPts] = POINTS[tool] ?? [1, 4];
  if (!Array.isArray(pts) || pts.length < minPts || pts.length > maxPts || !pts.every((p) => Array.isArray(p) && p.length === 3 && p.every((x) => typeof x === 'number' && Number.isFinite(x) && Math.abs(x) < 1e6)))
    errors.push(`points: ${minPts === maxPts ? minPts : `${minPts}–${maxPts}`} points of 3 finite coordinates (mm)`);
  const stats: MeasurementStats = {};
  const s = r.stats;
  if (s !== undefined && (typeof s !== 'object' || s === null || Array.isArray(s))) errors.push('stats: an object');
  else if (s) {
    for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
      if ((STAT_KEYS as readonly string[]).includes(k)) {
        if (v === null || v === undefined) continue;
        if (typeof v !== 'number' || !Number.isFinite(v)) errors.push(`stats.${k}: a finite number`);
        else stats[k as (typeof STAT_KEYS)[number]] = v;
      } else if ((UNIT_KEYS as readonly string[]).includes(k)) {
        if (typeof v !== 'string' || v.length > 16) errors.push(`stats.${k}: a short string`);
        else stats[k as (typeof UNIT_KEYS)[number]] = v;
      } else errors.push(`stats.${k}: not a measurement figure`);
    }
  }
  const extra = Object.keys(r).filter((k) => !['tool', 'seriesInstanceUID', 'sopInstanceUID', 'frameNumber', 'points', 'stats', ...SERVER_FIELDS].includes(k));
  for (const k of extra) errors.push(`${k}: not a measurement field`);
  if (errors.length) return { ok: false, errors };
  return { ok: true, value: { tool, seriesInstanceUID: r.seriesInstanceUID as string, sopInstanceUID: r.sopInstanceUID as string, frameNumber: frame as number, points: pts as [number, number, number][], stats } };
}

/** The figure a reader sees first, with its unit: "45.2 mm", "32.0°", "mean 41.3 HU · 120 mm²". */
export function measurementText(m: Pick<MeasurementInput, 'tool' | 'stats'>): string {
  const s = m.stats;
  const f = (v: number | undefined, d = 1) => (v === undefined ? '?' : v.toFixed(d));
  const mu = s.modalityUnit ? ` ${s.modalityUnit}` : '';
  switch (m.tool) {
    case 'length':
      return `${f(s.length, 2)} ${s.unit ?? 'px'}`;
    case 'angle':
      return `${f(s.angle)}°`;
    case 'probe':
      return `${f(s.value)}${mu}`;
    default:
      return `mean ${f(s.mean)}${mu} · SD ${f(s.stdDev)} · min ${f(s.min, 0)} · max ${f(s.max, 0)} · ${f(s.area)} ${s.areaUnit ?? 'px²'}`;
  }
}
