/**
 * Display polarity. MONOCHROME1 stores "higher value = darker" (CR/DX film convention), so shown
 * without inversion a chest film looks like a negative. The user's invert toggles relative to the
 * correct presentation, never relative to the raw values.
 */
export type Photometric = 'MONOCHROME1' | 'MONOCHROME2' | 'RGB' | 'YBR_FULL' | 'YBR_FULL_422' | 'PALETTE COLOR' | string;

export function storedIsInverted(photometric: Photometric | undefined): boolean {
  return (photometric ?? '').trim().toUpperCase() === 'MONOCHROME1';
}

/** Whether the renderer must invert the grey scale, given the user's invert toggle. */
export function renderInverted(photometric: Photometric | undefined, userInvert: boolean): boolean {
  return storedIsInverted(photometric) !== userInvert;
}

/** The user's toggle as seen from the renderer's current state (inverse of renderInverted). */
export function userInvertFromRender(photometric: Photometric | undefined, rendererInverted: boolean): boolean {
  return storedIsInverted(photometric) !== rendererInverted;
}

/** Maps a stored grey value to display brightness 0..1 for a VOI range (linear), honouring polarity. */
export function displayBrightness(value: number, range: { lower: number; upper: number }, photometric: Photometric | undefined, userInvert = false): number {
  const t = Math.min(1, Math.max(0, (value - range.lower) / Math.max(1e-9, range.upper - range.lower)));
  return renderInverted(photometric, userInvert) ? 1 - t : t;
}

export function isColor(photometric: Photometric | undefined): boolean {
  const p = (photometric ?? '').toUpperCase();
  return p === 'RGB' || p.startsWith('YBR') || p === 'PALETTE COLOR';
}
