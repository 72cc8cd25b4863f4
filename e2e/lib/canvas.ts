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

/** What `svgPixelsNear` counts: the SVGs, how many, the square's half side, and optionally a colour. */
export interface SvgProbe {
  /** CSS selector of the SVG layers to rasterise. */
  selector: string;
  /** Only the first match (Cornerstone's layer of one viewport) or every match (our overlays). */
  all?: boolean;
  /** Half the side of the square around the point, in CSS pixels. */
  half: number;
  /** Count only pixels within `tolerance` of this colour in each channel. */
  rgb?: [number, number, number];
  tolerance?: number;
}

/**
 * SVG layers drawn over a viewport, rasterised in the page (an SVG has no pixels to read until it is
 * drawn into a canvas): the opaque pixels in a square around a screen point, summed over the layers,
 * and the layers' text.
 */
export function svgPixelsNear(page: Page, at: [number, number], probe: SvgProbe): Promise<{ near: number; text: string }> {
  return page.evaluate(async ([x, y, p]) => {
    const svgs = p.all ? [...document.querySelectorAll<SVGSVGElement>(p.selector)] : [document.querySelector<SVGSVGElement>(p.selector)].filter((e): e is SVGSVGElement => !!e);
    let near = 0;
    let text = '';
    for (const svg of svgs) {
      const r = svg.getBoundingClientRect();
      if (!r.width || !r.height) continue;
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
      const d = g.getImageData(Math.round(x - r.x) - p.half, Math.round(y - r.y) - p.half, 2 * p.half, 2 * p.half).data;
      const tol = p.tolerance ?? 40;
      for (let k = 0; k < d.length; k += 4) {
        if (d[k + 3] <= 100) continue;
        if (p.rgb && (Math.abs(d[k] - p.rgb[0]) >= tol || Math.abs(d[k + 1] - p.rgb[1]) >= tol || Math.abs(d[k + 2] - p.rgb[2]) >= tol)) continue;
        near++;
      }
      text += svg.textContent ?? '';
    }
    return { near, text };
  }, [at[0], at[1], probe] as const);
}

/**
 * Cornerstone's annotation layer (its SVG over the viewport) rasterised in the page: the opaque pixels in
 * a 12×12 box around a screen point, and the layer's text. `scope` picks the viewport (a layout cell);
 * by default the first viewport element on the page.
 */
export function annotationPixels(page: Page, at: [number, number], scope = ''): Promise<{ near: number; text: string }> {
  return svgPixelsNear(page, at, { selector: `${scope} .viewport-element svg`.trim(), half: 6 });
}
