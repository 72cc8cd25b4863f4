/**
 * AI marks over the viewport: an SVG layer for boxes/polygons/labels/handles and a canvas for
 * heatmaps. Positions come from the viewport's own projection (worldToCanvas of the image plane it
 * renders), recomputed synchronously on every Cornerstone render, camera change and new image, so the
 * marks follow zoom, pan and scroll in the same frame as the pixels.
 */
import { useEffect, useLayoutEffect, useReducer, useRef, useState, type PointerEvent as ReactPointerEvent, type Ref } from 'react';
import { flushSync } from 'react-dom';
import { Enums } from '@cornerstonejs/core';
import type { ViewerContext } from '../viewer/extensions';
import type { Box, Finding, Heatmap } from '../core/findings/finding';
import { boundingRect, boxCorners, colourMap, dragBox, gridToCanvasAffine, heatmapToRGBA, type Handle, type Vec2 } from '../core/findings/geometry';
import { sortedFindings, useFindingsStore } from './state';
import { projection, regionsOnImage, stackViewport, type Projection } from './viewport';
import { noteContext } from './navigation';
import { setBox } from './actions';
import { useStudyFindings } from './useStudyFindings';

export const STATUS_STYLE: Record<string, { stroke: string; dash?: string; text: string }> = {
  'ai-unverified': { stroke: '#ffb000', dash: '6 3', text: 'unverified' },
  accepted: { stroke: '#3ddc84', text: 'accepted' },
  modified: { stroke: '#39c5ff', text: 'modified' },
  rejected: { stroke: '#9aa0a6', dash: '2 3', text: 'rejected' },
};
const SR_STYLE = { stroke: '#d291ff', dash: '4 2', text: 'from SR' };

export function markStyle(f: Finding) {
  return f.source === 'sr' ? SR_STYLE : STATUS_STYLE[f.status];
}

export function markLabel(f: Finding): string {
  // A radiologist's own finding (one the AI missed) is never labelled AI and has no AI score.
  if (f.source === 'radiologist') return `Radiologist · ${f.label} · ${f.verdict?.by ?? ''}`;
  const who = f.source === 'sr' ? 'SR' : 'AI';
  return `${who} · ${f.label} ${f.confidenceStated === false ? 'confidence not given' : `${Math.round(f.confidence * 100)}%`} · ${markStyle(f).text}`;
}

interface Mark {
  finding: Finding;
  regionIndex: number;
  points: Vec2[];
  closed: boolean;
  box?: Box;
  rect: { x: number; y: number; width: number; height: number };
}

/** What the e2e tests read: where each mark is on the page (CSS px). */
export interface MarkInfo {
  id: string;
  status: string;
  rect: { x: number; y: number; width: number; height: number };
}
let lastMarks: MarkInfo[] = [];
let lastHeatmaps = 0;
declare global {
  interface Window {
    __findings?: { getState(): Record<string, unknown> };
  }
}
if (typeof window !== 'undefined') {
  window.__findings = {
    getState: () => {
      const s = useFindingsStore.getState();
      return {
        studyUID: s.studyUID,
        selectedId: s.selectedId,
        overlaysVisible: s.overlaysVisible,
        heatmapsVisible: s.heatmapsVisible,
        heatmapOpacity: s.heatmapOpacity,
        signoff: s.signoff,
        loading: s.loading,
        findings: sortedFindings(s).map((f) => ({ id: f.id, status: f.status, source: f.source, label: f.label, originalId: f.originalId, regions: f.regions, extent: f.extent, verdict: f.verdict })),
        srWarnings: s.srWarnings,
        marks: lastMarks,
        heatmapsDrawn: lastHeatmaps,
      };
    },
  };
}

const rgbaCache = new WeakMap<Heatmap, HTMLCanvasElement>();
function heatmapCanvas(h: Heatmap): HTMLCanvasElement {
  let c = rgbaCache.get(h);
  if (!c) {
    c = document.createElement('canvas');
    c.width = h.width;
    c.height = h.height;
    const g = c.getContext('2d')!;
    // Alpha encodes the value; the overall opacity is applied when drawing (globalAlpha).
    g.putImageData(new ImageData(heatmapToRGBA(h.values, h.scale, 1) as Uint8ClampedArray<ArrayBuffer>, h.width, h.height), 0, 0);
    rgbaCache.set(h, c);
  }
  return c;
}

const HANDLES: [Handle, (b: { x0: number; y0: number; x1: number; y1: number }) => Vec2][] = [
  ['nw', (b) => [b.x0, b.y0]],
  ['n', (b) => [(b.x0 + b.x1) / 2, b.y0]],
  ['ne', (b) => [b.x1, b.y0]],
  ['e', (b) => [b.x1, (b.y0 + b.y1) / 2]],
  ['se', (b) => [b.x1, b.y1]],
  ['s', (b) => [(b.x0 + b.x1) / 2, b.y1]],
  ['sw', (b) => [b.x0, b.y1]],
  ['w', (b) => [b.x0, (b.y0 + b.y1) / 2]],
];
const CURSOR: Record<string, string> = { n: 'ns-resize', s: 'ns-resize', e: 'ew-resize', w: 'ew-resize', ne: 'nesw-resize', sw: 'nesw-resize', nw: 'nwse-resize', se: 'nwse-resize' };

export function FindingsOverlay({ ctx }: { ctx: ViewerContext }) {
  useStudyFindings(ctx.studyInstanceUID);
  useEffect(() => void (ctx.active !== false && noteContext(ctx))); // layouts: the active viewport leads navigation
  const s = useFindingsStore();
  const [, bump] = useReducer((x: number) => x + 1, 0);
  const rootRef = useRef<HTMLDivElement>(null);
  const heatRef = useRef<HTMLCanvasElement>(null);
  const heatDirty = useRef(false);
  const colourBarRef = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ id: string; regionIndex: number; handle: Handle; start: Vec2; box: Box; draft: Box } | null>(null);

  // What the marks were last placed for; a render that changes none of it (window/level drags,
  // which re-render the image on every mouse move) needs no new marks.
  const drawnFor = useRef('');
  const ctxRef = useRef(ctx);
  ctxRef.current = ctx;

  useEffect(() => {
    const el = ctx.element;
    if (!el) return;
    // Synchronous re-render in the Cornerstone event: the marks move in the same frame as the image.
    const now = () => {
      const v = stackViewport(ctx);
      // Most slices carry no finding: with nothing drawn and nothing to draw there is no React work
      // and no camera math on the scroll step's critical path.
      if (v && !lastMarks.length && !lastHeatmaps && !anythingToDraw(useFindingsStore.getState(), ctxRef.current.imageRefs[v.getCurrentImageIdIndex()])) return;
      if (v && viewKey(v) === drawnFor.current) return;
      flushSync(bump);
    };
    // IMAGE_RENDERED follows every camera change and new image (Cornerstone re-renders for both), so
    // one synchronous update there is enough; reacting to CAMERA_MODIFIED/STACK_NEW_IMAGE as well
    // only re-rendered the same frame two or three times.
    const events = [Enums.Events.IMAGE_RENDERED];
    for (const e of events) el.addEventListener(e, now);
    const ro = new ResizeObserver(() => bump());
    ro.observe(el);
    return () => {
      for (const e of events) el.removeEventListener(e, now);
      ro.disconnect();
    };
  }, [ctx.element]);

  const vp = stackViewport(ctx);
  const proj: Projection | null = vp ? projection(vp) : null;
  const idx = vp ? vp.getCurrentImageIdIndex() : ctx.imageIndex;
  const ref = ctx.imageRefs[idx];
  const all = sortedFindings(s);

  // Where the viewport canvas sits relative to our positioned parent.
  const canvas = vp?.canvas;
  const parent = rootRef.current?.parentElement;
  let frame = { left: 0, top: 0, width: canvas?.clientWidth ?? 0, height: canvas?.clientHeight ?? 0 };
  // Our root is laid over the canvas, so on the page it starts where the canvas does.
  let pageOrigin: { left: number; top: number } | null = null;
  if (canvas && parent) {
    const c = canvas.getBoundingClientRect(), p = parent.getBoundingClientRect();
    frame = { left: c.left - p.left - parent.clientLeft, top: c.top - p.top - parent.clientTop, width: c.width, height: c.height };
    pageOrigin = { left: c.left, top: c.top };
  }
  // Read now, while the layout is clean: read in the layout effect, after React has changed the
  // marks, it forced a synchronous layout of the page on every scroll step onto a marked slice.
  const key = vp ? viewKey(vp) : '';

  const marks: Mark[] = [];
  const heatmaps: Heatmap[] = [];
  if (proj && ref && s.overlaysVisible) {
    for (const f of all) {
      f.regions.forEach((r, regionIndex) => {
        if (!regionsOnImage({ regions: [r] }, ref).length) return;
        const box = drag && drag.id === f.id && drag.regionIndex === regionIndex ? drag.draft : r.box;
        if (box) {
          const pts = boxCorners(box).map(proj.toCanvas);
          marks.push({ finding: f, regionIndex, points: pts, closed: true, box, rect: boundingRect(pts) });
        } else if (r.polygon) {
          const pts = r.polygon.map((p) => proj.toCanvas(p as Vec2));
          marks.push({ finding: f, regionIndex, points: pts, closed: true, rect: boundingRect(pts) });
        }
      });
      if (s.heatmapsVisible) heatmaps.push(...heatmapsOnImage(f, ref));
    }
  }

  useLayoutEffect(() => {
    drawnFor.current = key;
    const origin = pageOrigin;
    lastMarks = marks.map((m) => ({ id: m.finding.id, status: m.finding.status, rect: { x: (origin?.left ?? 0) + m.rect.x, y: (origin?.top ?? 0) + m.rect.y, width: m.rect.width, height: m.rect.height } }));
    lastHeatmaps = heatmaps.length;
    const hc = heatRef.current;
    if (!hc) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(frame.width * dpr)), h = Math.max(1, Math.round(frame.height * dpr));
    if (hc.width !== w) hc.width = w;
    if (hc.height !== h) hc.height = h;
    const g = hc.getContext('2d');
    if (!g) return;
    g.setTransform(1, 0, 0, 1, 0, 0);
    if (heatmaps.length || heatDirty.current) g.clearRect(0, 0, w, h);
    heatDirty.current = heatmaps.length > 0;
    if (!proj) return;
    for (const hm of heatmaps) {
      // Cell grid -> image extent -> canvas: a heatmap of any resolution lands on its image.
      const m = gridToCanvasAffine(proj.plane, hm.width, hm.height, proj.toCanvas);
      g.setTransform(m[0] * dpr, m[1] * dpr, m[2] * dpr, m[3] * dpr, m[4] * dpr, m[5] * dpr);
      g.imageSmoothingEnabled = true;
      g.globalAlpha = s.heatmapOpacity;
      g.drawImage(heatmapCanvas(hm), 0, 0);
    }
    // The selected finding must stay readable under its own heatmap: inside its outline the heatmap
    // keeps only part of its alpha (the reader sees the lesion's grey values; the colour around it
    // still says where the AI looked). The outline itself is SVG above this canvas, with a dark halo.
    const sel = heatmaps.length ? marks.filter((m) => m.finding.id === s.selectedId) : [];
    if (sel.length) {
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.globalCompositeOperation = 'destination-out';
      g.globalAlpha = SELECTED_HEAT_CUT;
      for (const m of sel) {
        g.beginPath();
        m.points.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
        g.closePath();
        g.fill();
      }
      g.globalCompositeOperation = 'source-over';
    }
    g.globalAlpha = 1;
    placeColourBar(rootRef.current, colourBarRef.current);
  });

  const editable = (_f: Finding) => !s.signoff;

  const onHandleDown = (e: ReactPointerEvent, m: Mark, handle: Handle) => {
    if (!proj || !m.box) return;
    e.stopPropagation();
    e.preventDefault();
    (e.target as Element).setPointerCapture(e.pointerId);
    const start = proj.toImage(localPoint(e));
    setDrag({ id: m.finding.id, regionIndex: m.regionIndex, handle, start, box: m.box, draft: m.box });
  };
  const onHandleMove = (e: ReactPointerEvent) => {
    if (!drag || !proj) return;
    e.stopPropagation();
    const p = proj.toImage(localPoint(e));
    setDrag({ ...drag, draft: dragBox(drag.box, drag.handle, p[0] - drag.start[0], p[1] - drag.start[1]) });
  };
  const onHandleUp = (e: ReactPointerEvent) => {
    if (!drag) return;
    e.stopPropagation();
    const d = drag;
    setDrag(null);
    const f = all.find((x) => x.id === d.id);
    const r1 = (v: number) => Math.round(v * 10) / 10;
    const box = { x: r1(d.draft.x), y: r1(d.draft.y), width: Math.max(1, r1(d.draft.width)), height: Math.max(1, r1(d.draft.height)) };
    if (f && (box.x !== d.box.x || box.y !== d.box.y || box.width !== d.box.width || box.height !== d.box.height)) void setBox(f, d.regionIndex, box);
  };
  const localPoint = (e: ReactPointerEvent): Vec2 => {
    const r = rootRef.current!.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };

  const shownHeat = heatmaps[0];
  return (
    <div
      ref={rootRef}
      data-testid="findings-overlay"
      aria-hidden={!s.overlaysVisible}
      style={{ position: 'absolute', left: frame.left, top: frame.top, width: frame.width, height: frame.height, pointerEvents: 'none', overflow: 'hidden' }}
    >
      <canvas ref={heatRef} data-testid="findings-heatmap" style={{ position: 'absolute', inset: 0, width: '100%', height: '100%' }} />
      <svg width={frame.width} height={frame.height} style={{ position: 'absolute', inset: 0 }} onPointerMove={onHandleMove} onPointerUp={onHandleUp}>
        {marks.map((m) => {
          const st = markStyle(m.finding);
          const sel = s.selectedId === m.finding.id;
          const label = markLabel(m.finding);
          // The label sits outside the box (above, or below at the top edge) so it never covers the finding.
          const above = m.rect.y > 18;
          const ly = above ? m.rect.y - 5 : m.rect.y + m.rect.height + 14;
          const tw = label.length * 6.1 + 8;
          return (
            <g key={`${m.finding.id}:${m.regionIndex}`} data-finding-id={m.finding.id} data-status={m.finding.status} opacity={m.finding.status === 'rejected' ? 0.7 : 1}>
              {sel && <polygon points={m.points.map((p) => p.join(',')).join(' ')} fill="none" stroke="#000" strokeOpacity={0.55} strokeWidth={4.5} />}
              <polygon points={m.points.map((p) => p.join(',')).join(' ')} fill="none" stroke={st.stroke} strokeWidth={sel ? 2.2 : 1.3} strokeDasharray={st.dash} vectorEffect="non-scaling-stroke" />
              <g transform={`translate(${m.rect.x},${ly})`}>
                <rect x={0} y={-11} width={tw} height={14} rx={2} fill="rgba(0,0,0,0.6)" />
                <text x={4} y={0} fontSize={11} fontFamily="system-ui, sans-serif" fill={st.stroke}>
                  {label}
                </text>
              </g>
              {sel && m.box && editable(m.finding) &&
                HANDLES.map(([h, at]) => {
                  const r = boundingRect(m.points);
                  const [hx, hy] = at({ x0: r.x, y0: r.y, x1: r.x + r.width, y1: r.y + r.height });
                  return (
                    <rect
                      key={h}
                      data-handle={h}
                      x={hx - 4}
                      y={hy - 4}
                      width={8}
                      height={8}
                      fill={st.stroke}
                      stroke="#000"
                      strokeWidth={1}
                      style={{ pointerEvents: 'all', cursor: CURSOR[h] }}
                      onPointerDown={(e) => onHandleDown(e, m, h)}
                      onPointerMove={onHandleMove}
                      onPointerUp={onHandleUp}
                    />
                  );
                })}
            </g>
          );
        })}
      </svg>
      {shownHeat && <ColourBar ref={colourBarRef} heatmap={shownHeat} opacity={s.heatmapOpacity} />}
    </div>
  );
}

type ImageRef = ViewerContext['imageRefs'][number];

/** A finding's heatmaps on this image; a rejected finding shows none. */
function heatmapsOnImage(f: Finding, ref: ImageRef): Heatmap[] {
  return f.status === 'rejected' ? [] : (f.heatmaps ?? []).filter((h) => regionsOnImage({ regions: [{ image: h.image }] }, ref).length > 0);
}

/** Whether any visible finding has a mark or heatmap on this image (cheap: no projection). */
function anythingToDraw(s: Parameters<typeof sortedFindings>[0] & { overlaysVisible: boolean; heatmapsVisible: boolean }, ref: ImageRef | undefined): boolean {
  if (!ref || !s.overlaysVisible) return false;
  const on = (f: Finding) => regionsOnImage(f, ref).length > 0 || (s.heatmapsVisible && heatmapsOnImage(f, ref).length > 0);
  return s.findings.some(on);
}

/** Everything the marks' canvas positions depend on, besides the findings themselves. */
function viewKey(vp: NonNullable<ReturnType<typeof stackViewport>>): string {
  const c = vp.getCamera();
  const canvas = vp.canvas;
  return [vp.getCurrentImageId(), vp.getCurrentImageIdIndex(), c.focalPoint, c.position, c.viewUp, c.parallelScale, c.flipHorizontal, c.flipVertical, canvas?.clientWidth, canvas?.clientHeight].join('|');
}

/** How much of the heatmap's alpha is taken away inside the selected finding's outline. */
const SELECTED_HEAT_CUT = 0.6;

/**
 * Puts the colour bar at the right edge, clear of the corner text: just above the bottom-right
 * block, or just below the top-right one when the space above the bottom block is too short. The
 * corner blocks' heights change with the study's text and the theme's font, so they are measured
 * (only on slices that show a heatmap; nothing is read on other scroll steps).
 */
function placeColourBar(root: HTMLElement | null, bar: HTMLElement | null): void {
  if (!root || !bar) return;
  let host: HTMLElement | null = root.parentElement;
  while (host && !host.querySelector('.overlay-text')) host = host.parentElement;
  const tr = host?.querySelector<HTMLElement>('.overlay-text .tr')?.getBoundingClientRect();
  const br = host?.querySelector<HTMLElement>('.overlay-text .br')?.getBoundingClientRect();
  const r = root.getBoundingClientRect();
  const h = bar.offsetHeight;
  const gap = 6;
  const belowTop = tr ? Math.max(0, tr.bottom - r.top) + gap : gap;
  const aboveBottom = br ? Math.min(r.height, br.top - r.top) - gap : r.height - gap;
  bar.style.bottom = '';
  bar.style.top = `${Math.round(aboveBottom - h >= belowTop ? aboveBottom - h : belowTop)}px`;
}

function ColourBar({ heatmap, opacity, ref }: { heatmap: Heatmap; opacity: number; ref: Ref<HTMLDivElement> }) {
  const stops = Array.from({ length: 9 }, (_, i) => {
    const [r, g, b] = colourMap(1 - i / 8);
    return `rgb(${r},${g},${b}) ${(i / 8) * 100}%`;
  }).join(', ');
  return (
    <div ref={ref} data-testid="findings-colourbar" style={{ position: 'absolute', right: 10, bottom: 24, display: 'flex', gap: 4, alignItems: 'stretch', font: '12px system-ui, sans-serif', color: '#ddd', background: 'rgba(0,0,0,0.5)', padding: 4, borderRadius: 3 }}>
      <div style={{ width: 10, height: 120, background: `linear-gradient(${stops})`, opacity: Math.max(0.35, opacity) }} />
      <div style={{ display: 'flex', flexDirection: 'column', justifyContent: 'space-between' }}>
        <span>{heatmap.scale.max}</span>
        <span style={{ writingMode: 'vertical-rl', transform: 'rotate(180deg)', opacity: 0.8 }}>AI {heatmap.scale.unit}</span>
        <span>{heatmap.scale.min}</span>
      </div>
    </div>
  );
}
