/**
 * The reading view: series thumbnails, one stack viewport, overlay text, extension slots.
 * Default export so the shell can lazy-load it (the whole Cornerstone stack lives in this chunk).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useViewerStore, type SeriesInfo } from './store';
import { ViewerController } from './controller';
import { countLine } from './series';
import { BINDINGS_KEY, loadBindings, saveBindings } from './commands';
import { allCommands, keyString, resolveBindings, type Bindings } from '../core/commands/commands';
import { viewerExtensions, type ViewerContext } from './extensions';
import { navigate } from '../app/router';
import { apiFetch } from '../auth/api';
import { renderedUrl } from '../dicomweb/client';
import { type PresetId, WINDOW_PRESETS, presetsFor } from '../core/imaging/voi';
import { OverlayText } from './OverlayText';
import { MeasurementSync } from '../measurements/sync';
import { MissedFindingLayer } from '../measurements/MissedFinding';
import type { MeasureTool } from './cornerstone';
import '../extensions';
import { FirstFramePreview } from './FirstFramePreview';
import { removeBootPreview } from './previewImage';
import { earlyKeysActive, takeEarlyKeys, typingInto } from '../app/earlyKeys';

declare global {
  interface Window {
    __viewer?: { getState(): ReturnType<ViewerController['testState']> };
  }
}

/** The open study's measurements (one viewer page at a time). */
let measurements: MeasurementSync | null = null;

const MEASURE_COMMANDS: Record<string, MeasureTool> = {
  'measure.length': 'length',
  'measure.angle': 'angle',
  'measure.rectangle': 'rectangle',
  'measure.ellipse': 'ellipse',
  'measure.probe': 'probe',
};

function runViewerCommand(c: ViewerController, command: string, ctx: ViewerContext): boolean {
  const s = useViewerStore.getState();
  const tool = MEASURE_COMMANDS[command];
  if (tool) {
    if (measurements?.isLocked) useViewerStore.setState({ measureMessage: 'This study is signed off: its measurements are part of the signed record and cannot change.' });
    else c.setLeftTool(tool);
    return true;
  }
  if (command === 'viewer.cine') {
    c.toggleCine();
    return true;
  }
  if (command === 'viewer.cineFaster' || command === 'viewer.cineSlower') {
    c.cineRate(command === 'viewer.cineFaster' ? 1 : -1);
    return true;
  }
  if (command === 'finding.markMissed') {
    useViewerStore.setState({ markingMissed: !s.markingMissed });
    return true;
  }
  if (command === 'measure.delete') return !!(ctx.element && measurements?.deleteSelected(ctx.element));
  if (command === 'measure.undo') {
    measurements?.undo();
    return true;
  }
  const page = Math.max(1, Math.round(s.imageIds.length / 10));
  const seriesIdx = s.series.findIndex((x) => x.seriesInstanceUID === s.activeSeriesUID);
  if (command.startsWith('viewer.preset.')) {
    c.setPreset(command.slice('viewer.preset.'.length) as PresetId);
    return true;
  }
  switch (command) {
    case 'viewer.nextImage':
      void c.scrollBy(1);
      return true;
    case 'viewer.prevImage':
      void c.scrollBy(-1);
      return true;
    case 'viewer.pageDown':
      void c.scrollBy(page);
      return true;
    case 'viewer.pageUp':
      void c.scrollBy(-page);
      return true;
    case 'viewer.firstImage':
      void c.scrollTo(0);
      return true;
    case 'viewer.lastImage':
      void c.scrollTo(s.imageIds.length - 1);
      return true;
    case 'viewer.nextSeries':
      if (s.series[seriesIdx + 1]) void c.showSeries(s.series[seriesIdx + 1].seriesInstanceUID);
      return true;
    case 'viewer.prevSeries':
      if (seriesIdx > 0) void c.showSeries(s.series[seriesIdx - 1].seriesInstanceUID);
      return true;
    case 'viewer.invert':
      c.toggleInvert();
      return true;
    case 'viewer.reset':
      c.reset();
      return true;
    case 'viewer.zoomIn':
      c.zoomBy(1.25);
      return true;
    case 'viewer.zoomOut':
      c.zoomBy(0.8);
      return true;
    case 'viewer.tool.windowLevel':
      c.setLeftTool('windowLevel');
      return true;
    case 'viewer.tool.pan':
      c.setLeftTool('pan');
      return true;
    case 'viewer.tool.zoom':
      c.setLeftTool('zoom');
      return true;
    case 'viewer.help':
      useViewerStore.setState({ helpOpen: !s.helpOpen });
      return true;
    case 'viewer.escape':
      // Esc closes what is open and never leaves the study (the worklist has its own key).
      if (s.helpOpen) useViewerStore.setState({ helpOpen: false });
      return true;
    case 'viewer.worklist':
      navigate('/');
      return true;
  }
  for (const ext of viewerExtensions()) if (ext.runCommand?.(command, ctx)) return true;
  return false;
}

/** Server-rendered JPEG (Orthanc's /rendered only answers Accept: image/jpeg, which <img> does not send). */
function useThumbnail(url: string | null): { src: string | null; failed: boolean } {
  const [state, setState] = useState<{ src: string | null; failed: boolean }>({ src: null, failed: false });
  useEffect(() => {
    if (!url) return;
    let objectUrl: string | null = null;
    let cancelled = false;
    apiFetch(url, { headers: { accept: 'image/jpeg' } })
      .then(async (r) => {
        if (!r.ok) throw new Error(String(r.status));
        const blob = await r.blob();
        if (cancelled) return;
        objectUrl = URL.createObjectURL(blob);
        setState({ src: objectUrl, failed: false });
      })
      .catch(() => {
        if (!cancelled) setState({ src: null, failed: true });
      });
    return () => {
      cancelled = true;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url]);
  return state;
}

function Thumbnail({ studyUID, s, active, enabled, onOpen }: { studyUID: string; s: SeriesInfo; active: boolean; enabled: boolean; onOpen: () => void }) {
  const thumb = useThumbnail(enabled && s.thumbnailSop ? renderedUrl(studyUID, s.seriesInstanceUID, s.thumbnailSop) : null);
  const failed = thumb.failed;
  return (
    <button
      type="button"
      className={`series-item${active ? ' active' : ''}${s.status === 'error' || s.failedImages ? ' has-error' : ''}`}
      data-series-uid={s.seriesInstanceUID}
      data-status={s.status}
      onClick={onOpen}
      title={s.description}
    >
      <div className="thumb">
        {thumb.src ? (
          <img alt="" src={thumb.src} decoding="async" />
        ) : (
          <span className="thumb-placeholder">{failed ? 'no preview' : s.modality}</span>
        )}
      </div>
      <div className="series-meta">
        <div className="series-desc">{s.description || `Series ${s.seriesNumber ?? ''}`}</div>
        <div className="series-sub">{countLine(s)}</div>
        {s.status === 'error' && <div className="series-error">{s.error}</div>}
        {s.status !== 'error' && s.failedImages > 0 && (
          <div className="series-error">
            {s.failedImages} {s.failedImages === 1 ? 'image' : 'images'} could not be read
          </div>
        )}
      </div>
    </button>
  );
}

function HelpOverlay({ bindings, onChange }: { bindings: Bindings; onChange: (b: Bindings) => void }) {
  const [capturing, setCapturing] = useState<string | null>(null);
  /** A key already bound to another command: asked about before it moves. */
  const [conflict, setConflict] = useState<{ command: string; key: string; other: string } | null>(null);
  const commands = allCommands();
  const map = resolveBindings(bindings);
  const keysOf = (command: string) => bindings[command] ?? commands.find((c) => c.command === command)?.keys ?? [];
  useEffect(() => {
    if (!capturing && !conflict) return;
    const onKey = (e: KeyboardEvent) => {
      if (['Shift', 'Control', 'Alt', 'Meta'].includes(e.key)) return;
      e.preventDefault();
      e.stopPropagation();
      if (conflict) {
        // Enter moves the key here (the other command loses it); Esc keeps things as they were.
        if (e.key === 'Enter') onChange({ ...bindings, [conflict.command]: [conflict.key], [conflict.other]: keysOf(conflict.other).filter((k) => k !== conflict.key) });
        if (e.key === 'Enter' || e.key === 'Escape') setConflict(null);
        return;
      }
      const key = keyString(e);
      const other = map.get(key);
      if (other && other !== capturing) setConflict({ command: capturing!, key, other });
      else onChange({ ...bindings, [capturing!]: [key] });
      setCapturing(null);
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  });
  const groups = [...new Set(commands.map((c) => c.group))];
  return (
    <div className="help-overlay" role="dialog" aria-label="Keyboard shortcuts">
      <div className="help-card">
        <h2>Keyboard shortcuts</h2>
        <p className="muted">Click a key to remap it, then press the new key. Mouse: left drag window/level, right drag zoom, middle drag pan, wheel scrolls.</p>
        {conflict && (
          <p role="alert" data-testid="remap-conflict" style={{ color: '#ffcc80' }}>
            “{conflict.key}” already does “{commands.find((c) => c.command === conflict.other)?.label ?? conflict.other}”. Press Enter to move it to “
            {commands.find((c) => c.command === conflict.command)?.label ?? conflict.command}” (the other loses it), or Esc to keep it.
          </p>
        )}
        <div className="help-groups">
          {groups.map((g) => (
            <section key={g}>
              <h3>{g}</h3>
              <table>
                <tbody>
                  {commands
                    .filter((c) => c.group === g)
                    .map((c) => {
                      const keys = [...map.entries()].filter(([, cmd]) => cmd === c.command).map(([k]) => k);
                      return (
                        <tr key={c.command} data-command={c.command}>
                          <td>{c.label}</td>
                          <td>
                            <button type="button" className="key" onClick={() => setCapturing(c.command)}>
                              {capturing === c.command ? 'press a key…' : keys.join(' / ') || '—'}
                            </button>
                          </td>
                        </tr>
                      );
                    })}
                </tbody>
              </table>
            </section>
          ))}
        </div>
        <div className="help-actions">
          <button type="button" onClick={() => onChange({})}>
            Restore default keys
          </button>
          <button type="button" onClick={() => useViewerStore.setState({ helpOpen: false })}>
            Close (Esc)
          </button>
        </div>
      </div>
    </div>
  );
}

export default function ViewerPage({ studyUID }: { studyUID: string }) {
  const elementRef = useRef<HTMLDivElement>(null);
  const [controller] = useState(() => new ViewerController(studyUID));
  const [bindings, setBindings] = useState<Bindings>(loadBindings);
  // Only what this component draws: the slice index, window and zoom change on every scroll step or
  // drag and are read by <OverlayText> alone, so a scroll re-renders that and not the whole viewer.
  const s = useViewerStore(
    useShallow((st) => ({
      patientName: st.patientName,
      patientId: st.patientId,
      studyDescription: st.studyDescription,
      series: st.series,
      activeSeriesUID: st.activeSeriesUID,
      entries: st.entries,
      imageIds: st.imageIds,
      studyError: st.studyError,
      imageError: st.imageIds[st.imageIndex] ? st.imageErrors[st.imageIds[st.imageIndex]] : undefined,
      loading: st.loading,
      firstImageShown: st.firstImageShown,
      helpOpen: st.helpOpen,
      leftTool: st.leftTool,
      invert: st.invert,
      measureMessage: st.measureMessage,
      markingMissed: st.markingMissed,
    })),
  );

  useEffect(() => {
    const el = elementRef.current!;
    controller.attach(el);
    window.__viewer = { getState: () => controller.testState() };
    void controller.open();
    const ro = new ResizeObserver(() => controller.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      controller.dispose();
      delete window.__viewer;
    };
  }, [controller]);

  const ctx: ViewerContext = useMemo(
    () => ({
      studyInstanceUID: studyUID,
      activeSeriesUID: s.activeSeriesUID,
      imageIds: s.imageIds,
      imageRefs: s.entries.map((e) => ({ sopInstanceUID: e.sopInstanceUID, frameNumber: e.numberOfFrames > 1 ? e.frameNumber : undefined, seriesInstanceUID: e.seriesInstanceUID })),
      // Read live: a new context (and a re-render of every extension) per scroll step cost more than
      // the step itself. The overlay follows the slice through IMAGE_RENDERED instead.
      get imageIndex() {
        return useViewerStore.getState().imageIndex;
      },
      renderingEngineId: controller.ids.renderingEngineId,
      viewportId: controller.ids.viewportId,
      element: elementRef.current,
      showSeries: (uid) => controller.showSeries(uid),
      scrollToIndex: (i) => controller.scrollTo(i),
    }),
    [studyUID, s.activeSeriesUID, s.imageIds, s.entries, s.firstImageShown, controller],
  );
  const ctxRef = useRef(ctx);
  ctxRef.current = ctx;

  // Stored measurements: loaded once the first image is on screen, drawn on each series as it opens.
  useEffect(() => {
    if (!s.firstImageShown || !elementRef.current) return;
    const sync = new MeasurementSync(
      {
        studyUID,
        viewportId: () => controller.ids.viewportId,
        active: () => ({ imageIds: ctxRef.current.imageIds, imageRefs: ctxRef.current.imageRefs }),
        message: (text) => useViewerStore.setState({ measureMessage: text }),
      },
      elementRef.current,
    );
    measurements = sync;
    (window as { __measurements?: MeasurementSync }).__measurements = sync;
    return () => {
      sync.dispose();
      if (measurements === sync) measurements = null;
      delete (window as { __measurements?: MeasurementSync }).__measurements;
    };
  }, [s.firstImageShown, studyUID, controller]);
  useEffect(() => {
    measurements?.hydrateActive();
  }, [ctx]);

  useEffect(() => {
    const map = resolveBindings(bindings);
    const onKey = (e: KeyboardEvent) => {
      if (typingInto(e.target)) return;
      const command = map.get(keyString(e));
      if (!command) return;
      // Until the viewer is interactive the early-key queue keeps keys, to replay them in order.
      if (earlyKeysActive()) return void e.preventDefault();
      if (runViewerCommand(controller, command, ctxRef.current)) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [bindings, controller]);

  // The keys pressed while the viewer was loading, replayed in order once it is interactive; a study
  // that fails to open drops them (they were meant for its images).
  const bindingsRef = useRef(bindings);
  bindingsRef.current = bindings;
  useEffect(() => {
    const drain = (st: { studyError: string | null; loading: boolean }) => {
      if (!earlyKeysActive()) return true;
      // Interactive once the opening series is set up: its first image drawn and its initial window
      // applied (replaying earlier would let that window overwrite a preset key), or loading ended
      // without an image (a corrupt first slice: the reader may be stepping past it).
      if (st.loading && !st.studyError) return false;
      const keys = takeEarlyKeys();
      if (st.studyError) return true;
      const map = resolveBindings(bindingsRef.current);
      for (const k of keys) {
        const command = map.get(keyString(k));
        if (command) runViewerCommand(controller, command, ctxRef.current);
      }
      return true;
    };
    // Leaving before the viewer got ready (Esc back to the worklist) drops what was kept: keys typed
    // on the worklist afterwards must not be replayed into the next study.
    const dropKept = () => void (earlyKeysActive() && takeEarlyKeys());
    if (drain(useViewerStore.getState())) return dropKept;
    const unsubscribe = useViewerStore.subscribe((st) => {
      if (drain(st)) unsubscribe();
    });
    return () => {
      unsubscribe();
      dropKept();
    };
  }, [controller]);

  const updateBindings = (b: Bindings) => {
    setBindings(b);
    if (Object.keys(b).length) saveBindings(b);
    else localStorage.removeItem(BINDINGS_KEY);
  };

  const active = s.series.find((x) => x.seriesInstanceUID === s.activeSeriesUID);
  const extensions = viewerExtensions();
  const message = s.studyError ?? (active?.status === 'error' ? active.error : undefined) ?? s.imageError;
  // Overlays and panels (findings, SR reading, their fetches) wait for the first image, or for the
  // load to end without one: they are not needed to see it and compete with it for the 2 cores.
  // The sidebar itself is laid out from the start, so the viewport does not resize when they come.
  const extensionsReady = s.firstImageShown || !s.loading;
  useEffect(() => {
    if (message) removeBootPreview();
  }, [message]);

  return (
    <main className="viewer page">
      <aside className="series-panel" aria-label="Series">
        <div className="study-head">
          <div className="patient">{s.patientName || '—'}</div>
          <div className="muted">
            {s.patientId} {s.studyDescription && `· ${s.studyDescription}`}
          </div>
        </div>
        {s.series.map((x) => (
          <Thumbnail
            key={x.seriesInstanceUID}
            studyUID={studyUID}
            s={x}
            active={x.seriesInstanceUID === s.activeSeriesUID}
            enabled={s.firstImageShown}
            onOpen={() => void controller.showSeries(x.seriesInstanceUID)}
          />
        ))}
      </aside>
      <section className="viewer-main">
        <div className="toolbar" role="toolbar" aria-label="Viewer tools">
          {presetsFor(active?.modality).map((p, i) => (
            <button
              type="button"
              key={`${active?.modality}-${p.label}`}
              data-preset={active?.modality === 'CT' ? (Object.keys(WINDOW_PRESETS) as PresetId[])[i] : `slot-${i + 1}`}
              onClick={() => controller.setPresetSlot(i)}
              title={`${p.label} (key ${p.key})`}
            >
              {p.label}
            </button>
          ))}
          <span className="sep" />
          {(['windowLevel', 'pan', 'zoom'] as const).map((t) => (
            <button type="button" key={t} className={s.leftTool === t ? 'on' : ''} onClick={() => controller.setLeftTool(t)}>
              {t === 'windowLevel' ? 'W/L' : t === 'pan' ? 'Pan' : 'Zoom'}
            </button>
          ))}
          <span className="sep" />
          {(
            [
              ['length', 'Length'],
              ['angle', 'Angle'],
              ['rectangle', 'Rect ROI'],
              ['ellipse', 'Ellipse ROI'],
              ['probe', 'Probe'],
            ] as const
          ).map(([t, label]) => (
            <button type="button" key={t} data-tool={t} className={s.leftTool === t ? 'on' : ''} onClick={() => runViewerCommand(controller, `measure.${t}`, ctx)}>
              {label}
            </button>
          ))}
          <button type="button" data-testid="mark-missed" className={s.markingMissed ? 'on' : ''} onClick={() => runViewerCommand(controller, 'finding.markMissed', ctx)} title="Mark a finding the AI missed (key m)">
            Missed finding
          </button>
          <button type="button" onClick={() => controller.toggleInvert()} className={s.invert ? 'on' : ''}>
            Invert
          </button>
          <button type="button" onClick={() => controller.reset()}>
            Reset
          </button>
          <button type="button" onClick={() => useViewerStore.setState({ helpOpen: true })} aria-label="Keyboard shortcuts">
            ?
          </button>
        </div>
        <div className="viewport-wrap">
          <div ref={elementRef} className="viewport-element" data-testid="viewport" onContextMenu={(e) => e.preventDefault()} />
          <OverlayText active={active} />
          {s.firstImageShown && <MissedFindingLayer controller={controller} studyUID={studyUID} />}
          {s.measureMessage && (
            <div className="viewport-status" role="status" data-testid="measure-message" style={{ top: 'auto', bottom: '3.5em' }}>
              {s.measureMessage}
            </div>
          )}
          {extensionsReady &&
            extensions.map((ext) =>
              ext.Overlay ? (
                <div className="ext-overlay" key={ext.id}>
                  <ext.Overlay ctx={ctx} />
                </div>
              ) : null,
            )}
          {s.loading && !s.firstImageShown && !message && <div className="viewport-status">Loading images…</div>}
          {/* Above the status text (its canvas is transparent until drawn), below any error. */}
          {!s.firstImageShown && !message && <FirstFramePreview studyUID={studyUID} />}
          {message && (
            <div className={`viewport-error${s.studyError ? ' study' : ''}`} role="alert" data-testid="viewer-error">
              <strong>{s.studyError ? 'Study unavailable' : active?.status === 'error' ? 'Series unavailable' : 'Image unreadable'}</strong>
              <p>{message}</p>
              {s.studyError && (
                <button type="button" onClick={() => navigate('/')}>
                  Back to the worklist
                </button>
              )}
            </div>
          )}
        </div>
      </section>
      {extensions.some((e) => e.Panel || e.Toolbar) && (
        <aside className="side-panel">
          {/* The capabilities' controls (AI marks, heatmaps, AI status, study AI switch) head their
              panel: always in view, and the image's toolbar stays one fixed row. */}
          <div className="side-toolbar" role="toolbar" aria-label="AI controls">
            {extensions.map((ext) => (ext.Toolbar ? <ext.Toolbar key={ext.id} ctx={ctx} /> : null))}
          </div>
          {extensionsReady && extensions.map((ext) => (ext.Panel ? <ext.Panel key={ext.id} ctx={ctx} /> : null))}
        </aside>
      )}
      {s.helpOpen && <HelpOverlay bindings={bindings} onChange={updateBindings} />}
    </main>
  );
}
