/**
 * Orientation markers and the scale bar: what the edges of the image say about the patient, and how
 * long a stretch of screen is in millimetres. Pure.
 *
 * Patient axes (PS3.3 C.7.6.2.1.1): +x towards the patient's Left, +y Posterior, +z Head (superior).
 * A direction is named by its axes in order of size, each counted when it makes up at least a quarter
 * of the vector (so an oblique or gantry-tilted plane reads "PF", not just "P"), at most three letters.
 */
export type Vec3 = [number, number, number];

const POSITIVE = ['L', 'P', 'H'];
const NEGATIVE = ['R', 'A', 'F'];

export function directionLabel(v: readonly number[], minShare = 0.25): string {
  const len = Math.hypot(v[0] ?? 0, v[1] ?? 0, v[2] ?? 0);
  if (!len) return '';
  return [0, 1, 2]
    .map((i) => ({ i, c: (v[i] ?? 0) / len }))
    .filter(({ c }) => Math.abs(c) >= minShare)
    .sort((a, b) => Math.abs(b.c) - Math.abs(a.c))
    .map(({ i, c }) => (c > 0 ? POSITIVE[i] : NEGATIVE[i]))
    .join('');
}

export interface OrientationMarkers {
  top: string;
  bottom: string;
  left: string;
  right: string;
}

/**
 * Markers at the four edges from Image Orientation (Patient) (row direction cosines, then column):
 * the right edge is where the rows run to, the bottom where the columns run to. `flipH`/`flipV` and a
 * rotation in quarter turns (clockwise) follow the viewport, so the markers stay with the anatomy.
 */
export function orientationMarkers(iop: readonly number[] | undefined, view: { flipH?: boolean; flipV?: boolean; rotation?: number } = {}): OrientationMarkers | null {
  if (!iop || iop.length < 6 || iop.some((x) => !Number.isFinite(x))) return null;
  const row = iop.slice(0, 3);
  const col = iop.slice(3, 6);
  const neg = (v: number[]) => v.map((x) => -x);
  let m: OrientationMarkers = { right: directionLabel(row), left: directionLabel(neg(row)), bottom: directionLabel(col), top: directionLabel(neg(col)) };
  if (!m.right || !m.bottom) return null;
  if (view.flipH) m = { ...m, left: m.right, right: m.left };
  if (view.flipV) m = { ...m, top: m.bottom, bottom: m.top };
  const turns = ((Math.round((view.rotation ?? 0) / 90) % 4) + 4) % 4;
  for (let t = 0; t < turns; t++) m = { top: m.left, right: m.top, bottom: m.right, left: m.bottom };
  return m;
}

/**
 * A scale bar for `mmPerPx` millimetres per screen pixel that fits in `maxPx` pixels: the longest of
 * 1, 2, 5 × 10^n mm that does, with its length on screen and its label.
 */
export function scaleBar(mmPerPx: number, maxPx: number): { mm: number; px: number; label: string } | null {
  if (!(mmPerPx > 0) || !(maxPx > 0)) return null;
  const maxMm = mmPerPx * maxPx;
  let best = 0;
  for (let e = -2; e <= 4; e++) for (const m of [1, 2, 5]) if (m * 10 ** e <= maxMm) best = Math.max(best, m * 10 ** e);
  if (!best) return null;
  const mm = Number(best.toPrecision(3));
  return { mm, px: mm / mmPerPx, label: mm >= 10 ? `${mm / 10} cm` : `${mm} mm` };
}
