/**
 * Interval change between a study and its prior: findings matched across studies by Tracking UID where both
 * carry one, else by type and position (box centre in image pixels, within a tolerance; approximate, for
 * studies acquired alike); size change in mm and % from their length measurements; new and resolved findings.
 * Pure: the gateway computes it for the findings panel and the report draft.
 */
import type { Finding } from '../findings/finding.js';

export type ChangeKind = 'new' | 'resolved' | 'larger' | 'smaller' | 'stable' | 'persistent';

export interface IntervalChange {
  kind: ChangeKind;
  /** The finding in the current study (absent for resolved). */
  currentId?: string;
  /** The finding in the prior (absent for new). */
  priorId?: string;
  label: string;
  fromMm?: number;
  toMm?: number;
  /** Relative change of the size, rounded to a whole percent. */
  pct?: number;
  /** How the pair was matched. */
  matchedBy?: 'tracking-uid' | 'type-position';
}

const LENGTH: Record<string, number> = { mm: 1, cm: 10 };

/** The finding's size in mm: its first length measurement (mm or cm); undefined without one. */
export function sizeMm(f: Finding): number | undefined {
  return sizeOfMeasured(f);
}

function sizeOfMeasured(f: Finding): number | undefined {
  const m = f.measurements.find((x) => LENGTH[x.unit.value] !== undefined);
  return m ? m.value * LENGTH[m.unit.value] : undefined;
}

function centre(f: Finding): [number, number] | undefined {
  const r = f.regions.find((x) => x.box || x.polygon);
  if (r?.box) return [r.box.x + r.box.width / 2, r.box.y + r.box.height / 2];
  if (r?.polygon?.length) return [r.polygon.reduce((s, p) => s + p[0], 0) / r.polygon.length, r.polygon.reduce((s, p) => s + p[1], 0) / r.polygon.length];
  return undefined;
}

const sameType = (a: Finding, b: Finding) => a.type.value === b.type.value && a.type.scheme === b.type.scheme;
/** What counts as present in a study: accepted, modified or the radiologist's own; never rejected or unverified. */
const present = (f: Finding) => f.kind !== 'quality' && (f.status === 'accepted' || f.status === 'modified');

/** Size changes under this many percent (and under 1 mm) are "stable". */
const STABLE_PCT = 10;

/**
 * A finding's size in mm from its box and the image's pixel spacing (row, column mm), when it has no length
 * measurement: the longer side of the box. The gateway passes the spacing it read from the PACS.
 */
export function boxSizeMm(f: Finding, spacing: (seriesUID: string) => [number, number] | undefined): number | undefined {
  const r = f.regions.find((x) => x.box);
  const s = r?.box ? spacing(r.image.seriesInstanceUID) : undefined;
  if (!r?.box || !s) return undefined;
  return Math.max(r.box.width * s[1], r.box.height * s[0]);
}

export function intervalChanges(current: readonly Finding[], prior: readonly Finding[], opts: { maxDistancePx?: number; sizeOf?: (f: Finding) => number | undefined } = {}): IntervalChange[] {
  const maxD = opts.maxDistancePx ?? 40;
  const sizeMm = (f: Finding) => sizeOfMeasured(f) ?? opts.sizeOf?.(f);
  const cur = current.filter(present);
  const pri = prior.filter(present);
  const used = new Set<string>();
  const out: IntervalChange[] = [];
  for (const c of cur) {
    let match: Finding | undefined;
    let by: IntervalChange['matchedBy'];
    if (c.trackingUID) {
      match = pri.find((p) => !used.has(p.id) && p.trackingUID === c.trackingUID);
      if (match) by = 'tracking-uid';
    }
    if (!match) {
      const cc = centre(c);
      let best = Infinity;
      for (const p of pri) {
        if (used.has(p.id) || !sameType(c, p)) continue;
        const pc = centre(p);
        const d = cc && pc ? Math.hypot(cc[0] - pc[0], cc[1] - pc[1]) : Infinity;
        if (d <= maxD && d < best) {
          best = d;
          match = p;
        }
      }
      if (match) by = 'type-position';
    }
    if (!match) {
      out.push({ kind: 'new', currentId: c.id, label: c.label, ...(sizeMm(c) !== undefined ? { toMm: sizeMm(c) } : {}) });
      continue;
    }
    used.add(match.id);
    const from = sizeMm(match);
    const to = sizeMm(c);
    if (from === undefined || to === undefined || from <= 0) {
      out.push({ kind: 'persistent', currentId: c.id, priorId: match.id, label: c.label, matchedBy: by });
      continue;
    }
    const pct = Math.round(((to - from) / from) * 100);
    const kind: ChangeKind = Math.abs(pct) < STABLE_PCT || Math.abs(to - from) < 1 ? 'stable' : to > from ? 'larger' : 'smaller';
    out.push({ kind, currentId: c.id, priorId: match.id, label: c.label, fromMm: from, toMm: to, pct, matchedBy: by });
  }
  for (const p of pri) if (!used.has(p.id)) out.push({ kind: 'resolved', priorId: p.id, label: p.label, ...(sizeMm(p) !== undefined ? { fromMm: sizeMm(p) } : {}) });
  return out;
}

const mm = (n: number) => `${Math.round(n * 10) / 10} mm`;

/** The sentence for the report and the panel: "Lung nodule 6 mm → 9 mm, +50 % since 2026-05-01." */
export function intervalSentence(c: IntervalChange, priorDate: string): string {
  const since = priorDate ? ` since ${priorDate}` : ' since the prior';
  switch (c.kind) {
    case 'new':
      return `${c.label}${c.toMm !== undefined ? ` (${mm(c.toMm)})` : ''}: new${since}.`;
    case 'resolved':
      return `${c.label}${c.fromMm !== undefined ? ` (${mm(c.fromMm)})` : ''} seen on the prior: resolved${since}.`;
    case 'persistent':
      return `${c.label}: unchanged in presence${since} (no size to compare).`;
    default: {
      const sign = c.pct! > 0 ? '+' : c.pct! < 0 ? '−' : '±';
      return `${c.label} ${mm(c.fromMm!)} → ${mm(c.toMm!)}, ${sign}${Math.abs(c.pct!)} %${since}${c.kind === 'stable' ? ' (stable)' : ''}.`;
    }
  }
}
