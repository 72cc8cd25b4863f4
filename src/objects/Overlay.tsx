/**
 * The result objects' layer over the viewport: one canvas, redrawn synchronously on every
 * Cornerstone render (new image, camera change) and on every display choice, plus a colour bar for a
 * parametric map on the image, on the right edge between the top-right corner text and the
 * right orientation marker, clear of both.
 * AI-made objects follow the findings' one-key AI switch (the findings store's overlaysVisible).
 */
import { useEffect, useRef, useState } from 'react';
import { Enums } from '@cornerstonejs/core';
import type { ViewerContext } from '../viewer/extensions';
import { useFindingsStore } from '../findings/state';
import { stackViewport } from '../findings/viewport';
import { colourMap } from '../core/findings/geometry';
import { drawObjects, type DrawReport } from './draw';
import { loadObjects } from './api';
import { useObjectsStore } from './state';

let lastReport: DrawReport | null = null;
declare global {
  interface Window {
    __objects?: { getState(): Record<string, unknown> };
  }
}
if (typeof window !== 'undefined') {
  window.__objects = {
    getState: () => {
      const s = useObjectsStore.getState();
      return {
        list: s.list.map((o) => ({ kind: o.kind, sopInstanceUID: o.sopInstanceUID, creator: o.creator, ingestedAsFindings: o.ingestedAsFindings })),
        loaded: Object.fromEntries(Object.entries(s.loaded).map(([k, v]) => [k, v.kind])),
        errors: s.errors,
        appliedPr: s.appliedPr,
        drawn: lastReport,
      };
    },
  };
}

export function ObjectsOverlay({ ctx }: { ctx: ViewerContext }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const rootRef = useRef<HTMLDivElement>(null);
  const ctxRef = useRef(ctx);
  ctxRef.current = ctx;
  const [pmaps, setPmaps] = useState<string[]>([]);
  const [frame, setFrame] = useState({ left: 0, top: 0, width: 0, height: 0 });

  useEffect(() => {
    void loadObjects(ctx.studyInstanceUID);
    // AI switched off or on for the study (or policy changed): the server's list changes with it.
    const unsub = useFindingsStore.subscribe((s, prev) => {
      if (s.findings !== prev.findings) void loadObjects(ctx.studyInstanceUID);
    });
    return unsub;
  }, [ctx.studyInstanceUID]);

  useEffect(() => {
    const el = ctx.element;
    if (!el) return;
    const draw = () => {
      const c = canvasRef.current, root = rootRef.current;
      const vp = stackViewport(ctxRef.current);
      if (!c || !root || !vp) return;
      const s = useObjectsStore.getState();
      if (!s.list.length && !lastReport) return;
      const vc = vp.canvas;
      const parent = root.parentElement;
      if (vc && parent) {
        const a = vc.getBoundingClientRect(), p = parent.getBoundingClientRect();
        const f = { left: a.left - p.left - parent.clientLeft, top: a.top - p.top - parent.clientTop, width: a.width, height: a.height };
        setFrame((old) => (old.left === f.left && old.top === f.top && old.width === f.width && old.height === f.height ? old : f));
        const dpr = window.devicePixelRatio || 1;
        const w = Math.max(1, Math.round(a.width * dpr)), h = Math.max(1, Math.round(a.height * dpr));
        if (c.width !== w) c.width = w;
        if (c.height !== h) c.height = h;
      }
      const r = drawObjects(c, ctxRef.current, s, useFindingsStore.getState().overlaysVisible);
      lastReport = r;
      setPmaps((old) => (old.join() === r.pmaps.join() ? old : r.pmaps));
    };
    el.addEventListener(Enums.Events.IMAGE_RENDERED, draw);
    const u1 = useObjectsStore.subscribe(draw);
    const u2 = useFindingsStore.subscribe((s, prev) => {
      if (s.overlaysVisible !== prev.overlaysVisible) draw();
    });
    const ro = new ResizeObserver(draw);
    ro.observe(el);
    draw();
    return () => {
      el.removeEventListener(Enums.Events.IMAGE_RENDERED, draw);
      u1();
      u2();
      ro.disconnect();
    };
  }, [ctx.element]);

  return (
    <div ref={rootRef} data-testid="objects-overlay" style={{ position: 'absolute', left: frame.left, top: frame.top, width: frame.width, height: frame.height, pointerEvents: 'none', overflow: 'hidden' }}>
      <canvas ref={canvasRef} data-testid="objects-layer" style={{ position: 'absolute', inset: 0, width: '100%', height: '100%' }} />
      {pmaps[0] && <MapColourBar sop={pmaps[0]} />}
    </div>
  );
}

/**
 * The map's colour scale with its range and the threshold marked: on the right edge, below the top-right
 * corner text and above the right orientation marker (which sits midway down), at any viewport size.
 */
function MapColourBar({ sop }: { sop: string }) {
  const l = useObjectsStore((s) => s.loaded[sop]);
  const threshold = useObjectsStore((s) => s.threshold[sop]);
  if (!l || l.kind !== 'pmap') return null;
  const p = l.pmap;
  const stops = Array.from({ length: 9 }, (_, i) => `rgb(${colourMap(1 - i / 8).join(',')}) ${(i / 8) * 100}%`).join(',');
  const t = threshold ?? p.min;
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
  const span = p.max - p.min || 1;
  return (
    <div data-testid="pmap-colourbar" style={{ position: 'absolute', right: 8, top: '4.5rem', bottom: 'calc(50% + 1.4rem)', display: 'flex', gap: 4, font: '12px system-ui, sans-serif', color: '#eee', textShadow: '0 0 2px #000' }}>
      <div style={{ display: 'flex', flexDirection: 'column', justifyContent: 'space-between', textAlign: 'right' }}>
        <span>{fmt(p.max)}</span>
        <span>{p.unit && p.unit !== 'no units' ? p.unit : ''}</span>
        <span>{fmt(p.min)}</span>
      </div>
      <div data-testid="pmap-colourbar-scale" style={{ position: 'relative', width: 12, background: `linear-gradient(${stops})`, border: '1px solid #000' }}>
        <div title={`threshold ${fmt(t)}`} style={{ position: 'absolute', left: -3, right: -3, top: `${(1 - (t - p.min) / span) * 100}%`, borderTop: '2px solid #fff' }} />
      </div>
    </div>
  );
}
