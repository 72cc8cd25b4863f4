/**
 * Marking a finding the AI missed, in one gesture: with the mode on (key `m`), drag a box on the
 * image and pick its type from the menu that opens at the box (click, or 1–4); Esc cancels. The box
 * goes to the gateway in image pixel coordinates with the image's reference; the server records it
 * as the radiologist's own accepted finding (source 'radiologist', never AI) through the one
 * ingestion path, and it is shown at once with the study's other findings.
 */
import { useEffect, useRef, useState } from 'react';
import { utilities as csUtils } from '@cornerstonejs/core';
import { useViewerStore } from '../viewer/store';
import type { ViewerController } from '../viewer/controller';
import { apiFetch } from '../auth/api';
import { FINDING_TYPES, type Finding } from '../core/findings/finding';
import { MISSED_FINDING_TYPES, type MissedFindingType } from '../core/findings/radiologist';
import { replaceFinding } from '../findings/state';

type Box = { x0: number; y0: number; x1: number; y1: number };

/** The drawn box (viewport CSS pixels) in image pixel coordinates of the image on screen. */
function imageBox(c: ViewerController, b: Box): { x: number; y: number; width: number; height: number } | null {
  const vp = c.viewport;
  const imageId = vp?.getCurrentImageId();
  if (!vp || !imageId) return null;
  const corner = (x: number, y: number) => csUtils.worldToImageCoords(imageId, vp.canvasToWorld([x, y])) as [number, number] | undefined;
  const a = corner(Math.min(b.x0, b.x1), Math.min(b.y0, b.y1));
  const z = corner(Math.max(b.x0, b.x1), Math.max(b.y0, b.y1));
  if (!a || !z) return null;
  const x = Math.min(a[0], z[0]);
  const y = Math.min(a[1], z[1]);
  const width = Math.abs(z[0] - a[0]);
  const height = Math.abs(z[1] - a[1]);
  return width > 0 && height > 0 ? { x, y, width, height } : null;
}

export function MissedFindingLayer({ controller, studyUID }: { controller: ViewerController; studyUID: string }) {
  const active = useViewerStore((s) => s.markingMissed);
  const [box, setBox] = useState<Box | null>(null);
  const [menu, setMenu] = useState(false);
  const [busy, setBusy] = useState(false);
  const layer = useRef<HTMLDivElement>(null);

  const cancel = () => {
    setBox(null);
    setMenu(false);
    useViewerStore.setState({ markingMissed: false });
  };

  const save = async (type: MissedFindingType) => {
    const s = useViewerStore.getState();
    const entry = s.entries[s.imageIndex];
    const b = box && imageBox(controller, box);
    if (!entry || !b || busy) return;
    setBusy(true);
    try {
      const r = await apiFetch(`/api/studies/${studyUID}/findings/radiologist`, {
        method: 'POST',
        body: JSON.stringify({
          type,
          region: { image: { seriesInstanceUID: entry.seriesInstanceUID, sopInstanceUID: entry.sopInstanceUID, ...(entry.numberOfFrames > 1 ? { frameNumber: entry.frameNumber } : {}) }, box: b },
        }),
      });
      const body = (await r.json().catch(() => ({}))) as Finding & { error?: string };
      if (!r.ok) {
        useViewerStore.setState({ measureMessage: `Finding not recorded: ${body.error ?? `HTTP ${r.status}`}` });
        return;
      }
      replaceFinding(body);
      useViewerStore.setState({ measureMessage: `Recorded as your finding: ${body.label}` });
      cancel();
    } finally {
      setBusy(false);
    }
  };

  // While the menu is open its keys (1–4, Esc) are its own, not the viewer's presets or commands.
  useEffect(() => {
    if (!active) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopImmediatePropagation();
        cancel();
        return;
      }
      if (!menu) return;
      const i = Number(e.key) - 1;
      if (Number.isInteger(i) && MISSED_FINDING_TYPES[i]) {
        e.preventDefault();
        e.stopImmediatePropagation();
        void save(MISSED_FINDING_TYPES[i]);
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  });

  if (!active) return null;
  const at = (e: React.PointerEvent) => {
    const r = layer.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const left = box ? Math.min(box.x0, box.x1) : 0;
  const top = box ? Math.min(box.y0, box.y1) : 0;
  return (
    <div
      ref={layer}
      data-testid="missed-layer"
      style={{ position: 'absolute', inset: 0, cursor: 'crosshair', zIndex: 6 }}
      onPointerDown={(e) => {
        if (menu || e.button !== 0) return;
        const p = at(e);
        layer.current!.setPointerCapture(e.pointerId);
        setBox({ x0: p.x, y0: p.y, x1: p.x, y1: p.y });
      }}
      onPointerMove={(e) => {
        if (!box || menu || !(e.buttons & 1)) return;
        const p = at(e);
        setBox({ ...box, x1: p.x, y1: p.y });
      }}
      onPointerUp={() => {
        if (box && Math.abs(box.x1 - box.x0) > 3 && Math.abs(box.y1 - box.y0) > 3) setMenu(true);
        else setBox(null);
      }}
    >
      <div style={{ position: 'absolute', top: 4, left: '50%', transform: 'translateX(-50%)', fontSize: 12, background: 'rgba(0,0,0,0.7)', padding: '2px 6px', borderRadius: 3 }}>
        Mark a finding the AI missed: drag a box, then pick its type (Esc cancels)
      </div>
      {box && (
        <div data-testid="missed-box" style={{ position: 'absolute', left, top, width: Math.abs(box.x1 - box.x0), height: Math.abs(box.y1 - box.y0), border: '2px solid #3ddc84', pointerEvents: 'none' }} />
      )}
      {box && menu && (
        <div role="menu" aria-label="Finding type" data-testid="missed-menu" style={{ position: 'absolute', left: Math.max(box.x0, box.x1) + 6, top, background: '#1d1f22', border: '1px solid #555', borderRadius: 3, padding: 4, fontSize: 13 }}>
          {MISSED_FINDING_TYPES.map((t, i) => (
            <button type="button" role="menuitem" key={t} data-type={t} disabled={busy} onPointerDown={(e) => e.stopPropagation()} onClick={() => void save(t)} style={{ display: 'block', width: '100%', textAlign: 'left' }}>
              {i + 1} {FINDING_TYPES[t].meaning}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
