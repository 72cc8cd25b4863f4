/**
 * Corner text over the image. The corners that change while reading (slice, window, zoom) are
 * painted onto small canvases from a store subscription, not rendered as DOM text: a DOM text
 * change on a scroll step costs the whole page a style, layout and paint pass (about 1.7 ms of the
 * 8 ms step budget on the reference machine), a canvas change only its own few pixels.
 *
 * The same words stay in the DOM for screen readers and tests, in a visually hidden live region
 * that is written once the reader stops scrolling or dragging: a polite live region updated on
 * every step would queue one announcement per slice.
 *
 * Viewport 0 and the side viewports of a layout share this: CornerOverlay paints from an
 * OverlaySource (the viewer store for viewport 0, a side viewport's own store for the others).
 */
import { useEffect, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useViewerStore, type SeriesInfo } from './store';
import { cornerText, patientLines, type CornerText, type OverlaySource } from './overlayText';
import { scaleBar } from '../core/imaging/orientation';

/** Quiet time after the last change before the accessible text follows. */
export const SETTLE_MS = 250;

type PaintedCornerId = 'tr' | 'bl' | 'br';

const CORNERS: { id: PaintedCornerId; testId?: string; label: string }[] = [
  { id: 'tr', label: 'Zoom' },
  { id: 'bl', testId: 'slice-info', label: 'Image' },
  { id: 'br', testId: 'wl-info', label: 'Window' },
];

type MarkerId = 'top' | 'bottom' | 'left' | 'right';
const MARKERS: { id: MarkerId; style: React.CSSProperties; align: CanvasTextAlign }[] = [
  { id: 'top', style: { top: 0, left: '50%', transform: 'translateX(-50%)' }, align: 'center' },
  // Its distance from the bottom edge is in the style sheet: it moves up in a narrow viewport.
  { id: 'bottom', style: { left: '50%', transform: 'translateX(-50%)' }, align: 'center' },
  { id: 'left', style: { left: 0, top: '50%', transform: 'translateY(-50%)' }, align: 'left' },
  { id: 'right', style: { right: 0, top: '50%', transform: 'translateY(-50%)' }, align: 'right' },
];
const MARKER_CANVAS: React.CSSProperties = { display: 'block', width: '3.2em', height: '1.6em' };
const SCALE_CANVAS: React.CSSProperties = { display: 'block', width: '14rem', height: '2.6em' };

/** Viewport 0's overlay: the viewer store. */
const MAIN_SOURCE: OverlaySource = { get: () => useViewerStore.getState(), subscribe: (onChange) => useViewerStore.subscribe(onChange) };

/** Viewport 0's corner text. */
export function OverlayText({ active }: { active: SeriesInfo | undefined }) {
  const fixed = useViewerStore(useShallow((st) => ({ patientName: st.patientName, patientId: st.patientId, patientAgeSex: st.patientAgeSex, studyDate: st.studyDate, accession: st.accession })));
  return <CornerOverlay source={MAIN_SOURCE} patient={patientLines(fixed, active)} />;
}

/**
 * One viewport's corner text. `patient` is the fixed corner (React text: it changes with the series,
 * not with a step); the rest is painted from `source`. `viewportIndex` above 0 suffixes the test ids
 * and names the viewport in the accessible labels, so two viewports' texts stay apart; `children`
 * go under the fixed corner (a side viewport's "Prior …" label).
 */
export function CornerOverlay({ source, patient, viewportIndex = 0, children }: { source: OverlaySource; patient: string[]; viewportIndex?: number; children?: React.ReactNode }) {
  const tid = (id: string) => (viewportIndex ? `${id}-${viewportIndex}` : id);
  const label = (text: string) => (viewportIndex ? `Viewport ${viewportIndex + 1}: ${text}` : text);
  const canvases = useRef<Partial<Record<PaintedCornerId, HTMLCanvasElement | null>>>({});
  const spoken = useRef<Partial<Record<PaintedCornerId, HTMLSpanElement | null>>>({});
  const markerCanvases = useRef<Partial<Record<MarkerId, HTMLCanvasElement | null>>>({});
  const scaleCanvas = useRef<HTMLCanvasElement | null>(null);
  const geometrySpoken = useRef<HTMLSpanElement | null>(null);
  const scaleSpoken = useRef<HTMLSpanElement | null>(null);

  useEffect(() => {
    const painted: Partial<Record<PaintedCornerId, string>> = {};
    let settle: ReturnType<typeof setTimeout> | undefined;
    let latest: CornerText | null = null;
    const speak = () => {
      for (const { id } of CORNERS) {
        const el = spoken.current[id];
        const text = latest?.[id].join('\n') ?? '';
        if (el && el.textContent !== text) el.textContent = text;
      }
    };
    let paintedGeometry = '';
    const updateGeometry = (st: ReturnType<OverlaySource['get']>) => {
      const o = st.orientation;
      const scale = scaleCanvas.current;
      const maxPx = scale ? cornerStyle(scale).cssW - 12 : 0;
      const bar = st.mmPerPx ? scaleBar(st.mmPerPx, maxPx) : null;
      const key = `${o?.top}|${o?.bottom}|${o?.left}|${o?.right}|${bar?.px}|${bar?.label}`;
      if (key === paintedGeometry) return;
      paintedGeometry = key;
      for (const { id, align } of MARKERS) {
        const c = markerCanvases.current[id];
        if (c) paintCorner(c, [o?.[id] ?? ''], align);
      }
      if (scale) paintScaleBar(scale, bar);
      if (geometrySpoken.current) geometrySpoken.current.textContent = o ? `left ${o.left}, right ${o.right}, top ${o.top}, bottom ${o.bottom}` : '';
      if (scaleSpoken.current) scaleSpoken.current.textContent = bar ? `${bar.label} = ${bar.px.toFixed(1)} px` : '';
    };
    const update = () => {
      const st = source.get();
      updateGeometry(st);
      const text = cornerText(st, undefined);
      let changed = false;
      for (const { id } of CORNERS) {
        const lines = text[id];
        const key = lines.join('\n');
        if (painted[id] === key) continue;
        const c = canvases.current[id];
        if (!c) continue;
        painted[id] = key;
        paintCorner(c, lines, id === 'bl' ? 'left' : 'right');
        changed = true;
      }
      latest = text;
      if (!changed) return;
      clearTimeout(settle);
      settle = setTimeout(speak, SETTLE_MS);
    };
    update();
    speak();
    const unsubscribe = source.subscribe(update);
    return () => {
      unsubscribe();
      clearTimeout(settle);
    };
  }, [source]);

  return (
    <div className="overlay-text">
      <div className="tl">
        <div data-testid={tid('patient-info')}>
          {patient.map((line, i) => (
            <div key={i}>{line}</div>
          ))}
        </div>
        {children}
      </div>
      {MARKERS.map(({ id, style }) => (
        <div key={id} className={`marker-${id}`} style={{ ...style, padding: '0.3rem 0.5rem' }}>
          <canvas ref={(el) => void (markerCanvases.current[id] = el)} className="painted-text" style={MARKER_CANVAS} aria-hidden="true" data-marker={id} />
        </div>
      ))}
      <span className="visually-hidden" aria-label={label('Orientation')} data-testid={tid('orientation-markers')} ref={geometrySpoken} />
      <div className="scale" style={{ left: '50%', transform: 'translateX(-50%)' }}>
        <canvas ref={scaleCanvas} className="painted-text" style={SCALE_CANVAS} aria-hidden="true" data-testid={tid('scale-bar-canvas')} />
        <span className="visually-hidden" aria-label={label('Scale')} data-testid={tid('scale-bar')} ref={scaleSpoken} />
      </div>
      {CORNERS.map(({ id, testId, label: name }) => (
        <div key={id} className={id}>
          <canvas ref={(el) => void (canvases.current[id] = el)} className="painted-text" style={id === 'bl' ? { height: '3.1em' } : undefined} aria-hidden="true" />
          <span className="visually-hidden" aria-live="polite" aria-label={label(name)} data-testid={testId && tid(testId)} ref={(el) => void (spoken.current[id] = el)} />
        </div>
      ))}
    </div>
  );
}

interface CornerStyle {
  dpr: number;
  cssW: number;
  cssH: number;
  font: string;
  size: number;
  color: string;
}
/** Read once per canvas (and again after a page zoom): reading styles on every step could force a layout. */
const styles = new WeakMap<HTMLCanvasElement, CornerStyle>();

function cornerStyle(canvas: HTMLCanvasElement): CornerStyle {
  const dpr = window.devicePixelRatio || 1;
  const known = styles.get(canvas);
  if (known && known.dpr === dpr) return known;
  const cs = getComputedStyle(canvas);
  const size = parseFloat(cs.fontSize) || 18;
  const st = {
    dpr,
    cssW: parseFloat(cs.width) || canvas.clientWidth,
    cssH: parseFloat(cs.height) || canvas.clientHeight,
    font: `${cs.fontWeight} ${size}px ${cs.fontFamily}`,
    size,
    color: cs.color,
  };
  styles.set(canvas, st);
  return st;
}

/**
 * Sizes the canvas's backing store to its CSS size at the device pixel ratio, clears it and returns
 * its context scaled to CSS pixels; null where the canvas has no 2D context.
 */
function clearCanvas(canvas: HTMLCanvasElement, st: CornerStyle): CanvasRenderingContext2D | null {
  const w = Math.round(st.cssW * st.dpr);
  const h = Math.round(st.cssH * st.dpr);
  // Resizing clears the canvas and is only needed at the first paint or after a page zoom.
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const g = canvas.getContext('2d');
  if (!g) return null;
  g.setTransform(st.dpr, 0, 0, st.dpr, 0, 0);
  g.clearRect(0, 0, st.cssW, st.cssH);
  return g;
}

/**
 * The scale bar: a horizontal bar of `bar.px` CSS pixels with end ticks, centred, its length written
 * above it; nothing when the image has no Pixel Spacing.
 */
function paintScaleBar(canvas: HTMLCanvasElement, bar: { px: number; label: string } | null): void {
  const st = cornerStyle(canvas);
  const g = clearCanvas(canvas, st);
  if (!g || !bar) return;
  const x0 = (st.cssW - bar.px) / 2;
  const y = st.cssH - 4;
  g.fillStyle = st.color;
  g.shadowColor = '#000';
  g.shadowBlur = 2;
  g.fillRect(x0, y - 1, bar.px, 2);
  g.fillRect(x0, y - 7, 2, 8);
  g.fillRect(x0 + bar.px - 2, y - 7, 2, 8);
  g.font = st.font;
  g.textAlign = 'center';
  g.textBaseline = 'bottom';
  g.fillText(bar.label, st.cssW / 2, y - 4);
}

/** Draws lines of text, in the overlay's font and shadow, into a canvas of a fixed CSS size. */
function paintCorner(canvas: HTMLCanvasElement, lines: string[], align: CanvasTextAlign): void {
  const st = cornerStyle(canvas);
  const g = clearCanvas(canvas, st);
  if (!g) return;
  g.font = st.font;
  g.textAlign = align;
  g.textBaseline = 'bottom';
  g.fillStyle = st.color;
  g.shadowColor = '#000';
  g.shadowBlur = 3;
  const lineH = st.size * 1.35;
  const x = align === 'left' ? 3 : align === 'center' ? st.cssW / 2 : st.cssW - 3;
  // Bottom-aligned: the last line sits on the canvas's lower edge.
  lines
    .filter(Boolean)
    .reverse()
    .forEach((line, i) => g.fillText(line, x, st.cssH - 3 - i * lineH));
}
