/** Reading the viewport's pixels in the page: the only proof an image is really on screen. */
import type { Page } from 'playwright-core';

export interface CanvasStats {
  width: number;
  height: number;
  mean: number;
  std: number;
  /** Fraction of pixels brighter than near-black. */
  nonBlack: number;
  /** Cheap fingerprint to tell two renderings apart. */
  hash: number;
}

export async function canvasStats(page: Page): Promise<CanvasStats> {
  return page.evaluate(() => {
    const canvas = document.querySelector('.viewport-element canvas') as HTMLCanvasElement | null;
    if (!canvas) throw new Error('no viewport canvas');
    const ctx = canvas.getContext('2d')!;
    const { width, height } = canvas;
    const d = ctx.getImageData(0, 0, width, height).data;
    let sum = 0;
    let sum2 = 0;
    let nonBlack = 0;
    let hash = 0;
    const n = width * height;
    for (let i = 0; i < d.length; i += 4) {
      const v = (d[i] + d[i + 1] + d[i + 2]) / 3;
      sum += v;
      sum2 += v * v;
      if (v > 8) nonBlack++;
      hash = (hash * 31 + d[i] + 7 * d[i + 1]) | 0;
    }
    const mean = sum / n;
    return { width, height, mean, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), nonBlack: nonBlack / n, hash };
  });
}

/** Mean grey level of a small square around (fx, fy), given as fractions of the canvas size. */
export async function regionMean(page: Page, fx: number, fy: number, half = 6): Promise<number> {
  return page.evaluate(
    ({ fx, fy, half }) => {
      const canvas = document.querySelector('.viewport-element canvas') as HTMLCanvasElement;
      const ctx = canvas.getContext('2d')!;
      const x = Math.round(fx * canvas.width);
      const y = Math.round(fy * canvas.height);
      const d = ctx.getImageData(x - half, y - half, 2 * half, 2 * half).data;
      let s = 0;
      for (let i = 0; i < d.length; i += 4) s += (d[i] + d[i + 1] + d[i + 2]) / 3;
      return s / (d.length / 4);
    },
    { fx, fy, half },
  );
}

/** One painted corner of the overlay text (slice 'bl', window 'br', zoom 'tr'): lit pixels and a hash. */
export async function paintedCorner(page: Page, corner: 'tr' | 'bl' | 'br'): Promise<{ lit: number; hash: number }> {
  return page.evaluate((corner) => {
    const canvas = document.querySelector(`.overlay-text .${corner} canvas`) as HTMLCanvasElement | null;
    if (!canvas || !canvas.width) throw new Error(`no painted ${corner} corner`);
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let lit = 0;
    let hash = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 128 && d[i] > 128) lit++;
      hash = (hash * 31 + d[i] + 7 * d[i + 3]) | 0;
    }
    return { lit, hash };
  }, corner);
}

/**
 * The overlay's words as a screen reader gets them. They follow the painted corners once the reader
 * stops scrolling or dragging (a quarter of a second), so this waits for them.
 */
export async function expectOverlayText(page: Page, testId: 'slice-info' | 'wl-info', text: string): Promise<void> {
  const read = () => page.textContent(`[data-testid=${testId}]`).then((t) => t ?? '');
  const t0 = Date.now();
  let last = await read();
  while (!last.includes(text) && Date.now() - t0 < 10_000) {
    await page.waitForTimeout(50);
    last = await read();
  }
  if (!last.includes(text)) throw new Error(`overlay ${testId} says "${last}", expected "${text}"`);
}

/**
 * Cornerstone's annotation layer (its SVG over the viewport) rasterised in the page: the opaque pixels in
 * a 12×12 box around a screen point, and the layer's text. `scope` picks the viewport (a layout cell);
 * by default the first viewport element on the page.
 */
export function annotationPixels(page: Page, at: [number, number], scope = ''): Promise<{ near: number; text: string }> {
  return page.evaluate(async ([x, y, scope]) => {
    const svg = document.querySelector(`${scope} .viewport-element svg`.trim()) as SVGSVGElement | null;
    if (!svg) return { near: 0, text: '' };
    const r = svg.getBoundingClientRect();
    const clone = svg.cloneNode(true) as SVGSVGElement;
    clone.setAttribute('width', String(r.width));
    clone.setAttribute('height', String(r.height));
    const img = new Image();
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(clone));
    await img.decode();
    const c = document.createElement('canvas');
    c.width = r.width;
    c.height = r.height;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(Math.round(x - r.x) - 6, Math.round(y - r.y) - 6, 12, 12).data;
    let near = 0;
    for (let k = 0; k < d.length; k += 4) if (d[k + 3] > 100) near++;
    return { near, text: svg.textContent ?? '' };
  }, [at[0], at[1], scope] as const);
}
