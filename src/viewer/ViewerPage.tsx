/**
 * The reading view: series thumbnails, one stack viewport, overlay text, extension slots.
 * Default export so the shell can lazy-load it (the whole Cornerstone stack lives in this chunk).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
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
import { CornerOverlay, OverlayText } from './OverlayText';
import { patientLines } from './overlayText';
import { imageRefsOf } from './paneRules';
import { MeasurementSync } from '../measurements/sync';
import { MissedFindingLayer } from '../measurements/MissedFinding';
import type { MeasureTool } from './cornerstone';
import '../extensions';
import { FirstFramePreview } from './FirstFramePreview';
import { removeBootPreview } from './previewImage';
import { earlyKeysActive, takeEarlyKeys, typingInto } from '../app/earlyKeys';
import { LAYOUT_CELLS, Viewports, emptySide, type Layout, type SideState, type SideViewport } from './viewports';
import { useReportStore } from '../report/state';
import { loadPriors } from '../report/api';

declare global {
  interface Window {
    __viewer?: { getState(): ReturnType<ViewerController['testState']>; getViewports(): ReturnType<Viewports['testState']> };
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

/** The most recent relevant prior as the report capability found it (asked for here if it has not yet). */
async function comparisonFor(studyUID: string) {
  if (useReportStore.getState().studyUID !== studyUID || !useReportStore.getState().comparison) await loadPriors(studyUID);
  const c = useReportStore.getState().comparison;
  return c ? { studyUID: c.studyUID, date: c.date, report: c.report } : null;
}

/** Runs a command's action and says it was handled. */
const done = (action: () => unknown): true => {
  void action();
  return true;
};

const LAYOUT_COMMANDS: Record<string, Layout> = { 'viewer.layout.1x1': '1x1', 'viewer.layout.1x2': '1x2', 'viewer.layout.2x2': '2x2' };

function runViewerCommand(c: ViewerController, command: string, ctx: ViewerContext, vps?: Viewports): boolean {
  const s = useViewerStore.getState();
  if (vps) {
    const layout = LAYOUT_COMMANDS[command];
    if (layout) return done(() => vps.setLayout(layout));
    if (command === 'viewer.nextViewport') return done(() => vps.nextViewport());
    if (command === 'viewer.comparePrior') {
      if (vps.store.getState().comparing) vps.setLayout('1x1');
      else void comparisonFor(c.studyUID).then((cmp) => vps.comparePrior(cmp));
      return true;
    }
    if (command === 'viewer.linkVoi') return done(() => vps.toggleLinkVoi());
    // A side viewport is active: the image commands go to it (the keyboard follows the outline).
    const side = vps.activePane();
    if (side !== c) {
      const st = (side as SideViewport).store.getState();
      const page = Math.max(1, Math.round(st.imageIds.length / 10));
      const idx = s.series.findIndex((x) => x.seriesInstanceUID === st.seriesUID);
      const own = st.studyUID === c.studyUID;
      const preset = command.startsWith('viewer.preset.') ? (Object.keys(WINDOW_PRESETS) as PresetId[]).indexOf(command.slice('viewer.preset.'.length) as PresetId) : -1;
      if (preset >= 0) return done(() => side.setPresetSlot(preset));
      switch (command) {
        case 'viewer.nextImage': return done(() => side.scrollBy(1));
        case 'viewer.prevImage': return done(() => side.scrollBy(-1));
        case 'viewer.pageDown': return done(() => side.scrollBy(page));
        case 'viewer.pageUp': return done(() => side.scrollBy(-page));
        case 'viewer.firstImage': return done(() => side.scrollTo(0));
        case 'viewer.lastImage': return done(() => side.scrollTo(st.imageIds.length - 1));
        case 'viewer.nextSeries':
          if (s.series[idx + 1] || (!own && s.series[0])) vps.assign(vps.store.getState().active, s.series[own ? idx + 1 : 0].seriesInstanceUID);
          return true;
        case 'viewer.prevSeries':
          if (own && idx > 0) vps.assign(vps.store.getState().active, s.series[idx - 1].seriesInstanceUID);
          return true;
        case 'viewer.invert': return done(() => side.toggleInvert());
        case 'viewer.reset': return done(() => side.reset());
        case 'viewer.zoomIn': return done(() => side.zoomBy(1.25));
        case 'viewer.zoomOut': return done(() => side.zoomBy(0.8));
      }
    }
  }
  const tool = MEASURE_COMMANDS[command];
  if (tool) {
    if (measurements?.isLocked) useViewerStore.setState({ measureMessage: 'This study is signed off: its measurements are part of the signed record and cannot change.' });
    else c.setLeftTool(tool);
    return true;
  }
  // Cine plays the active viewport (a side one too); its rate is one for every viewport.
  if (command === 'viewer.cine') {
    (vps?.activePane() ?? c).toggleCine();
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
      // Dragged onto a viewport of the layout to show it there.
      draggable
      onDragStart={(e) => {
        e.dataTransfer.setData(SERIES_DRAG_TYPE, s.seriesInstanceUID);
        e.dataTransfer.effectAllowed = 'copy';
      }}
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

const SERIES_DRAG_TYPE = 'application/x-rs-series';

/** Drop target props for a viewport cell: a series thumbnail dropped here is shown in this viewport. */
function dropProps(vps: Viewports, index: number) {
  return {
    onDragOver: (e: React.DragEvent) => {
      if (e.dataTransfer.types.includes(SERIES_DRAG_TYPE)) {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
      }
    },
    onDrop: (e: React.DragEvent) => {
      const uid = e.dataTransfer.getData(SERIES_DRAG_TYPE);
      if (!uid) return;
      e.preventDefault();
      vps.assign(index, uid);
    },
    // Pressing or wheeling in a viewport makes it the active one (the keyboard then acts on it).
    onPointerDownCapture: () => vps.setActive(index),
    onWheelCapture: () => vps.setActive(index),
  };
}

type LeftToolName = ReturnType<typeof useViewerStore.getState>['leftTool'];
const LEFT_TOOL_LABELS: Record<LeftToolName, string> = {
  windowLevel: 'W/L',
  pan: 'Pan',
  zoom: 'Zoom',
  length: 'Length',
  angle: 'Angle',
  rectangle: 'Rect ROI',
  ellipse: 'Ellipse ROI',
  probe: 'Probe',
};

/** The toolbar's menus, drawn like its buttons (theme.css styles buttons only). */
const MENU_STYLE: React.CSSProperties = { font: 'inherit', fontSize: '0.85rem', color: 'inherit', background: 'var(--panel-2)', border: '1px solid var(--line)', borderRadius: 6, padding: '0.2rem 0', cursor: 'pointer' };

const ACTIVE_OUTLINE: React.CSSProperties = { position: 'absolute', inset: 0, border: '2px solid #39c5ff', pointerEvents: 'none', zIndex: 5 };
const emptySideStore: StoreApi<SideState> = createStore<SideState>(emptySide);

/** The extension context of a side viewport (its series, images, element), as viewport 0's is for it. */
function sideContext(studyUID: string, side: SideViewport | undefined, st: Pick<SideState, 'studyUID' | 'seriesUID' | 'imageIds' | 'entries'>, index: number, active: boolean, renderingEngineId: string): ViewerContext {
  return {
    studyInstanceUID: studyUID,
    displayedStudyUID: st.studyUID ?? studyUID,
    viewportIndex: index,
    active,
    activeSeriesUID: st.seriesUID,
    imageIds: st.imageIds,
    imageRefs: imageRefsOf(st.entries),
    get imageIndex() {
      return side?.store.getState().imageIndex ?? 0;
    },
    renderingEngineId,
    viewportId: side?.viewportId ?? '',
    element: side?.element ?? null,
    showSeries: (uid) => side?.showSeries(uid) ?? Promise.resolve(),
    scrollToIndex: (i) => side?.scrollTo(i) ?? Promise.resolve(),
  };
}

/** A viewport of a 1×2 or 2×2 layout besides viewport 0: made when the cell mounts, dropped when it goes. */
function SideCell({ index, vps, studyUID, active, ready }: { index: number; vps: Viewports; studyUID: string; active: boolean; ready: boolean }) {
  const [side, setSide] = useState<SideViewport | undefined>(() => vps.side(index));
  // Only what this component draws: the slice, window and zoom change on every step and are painted
  // by its CornerOverlay from the side's store, as viewport 0's are, without a render of the cell.
  const st = useStore(
    side?.store ?? emptySideStore,
    useShallow((x) => ({
      studyUID: x.studyUID,
      seriesUID: x.seriesUID,
      imageIds: x.imageIds,
      entries: x.entries,
      label: x.label,
      error: x.error,
      stackReady: x.stackReady,
      patientName: x.patientName,
      patientId: x.patientId,
      patientAgeSex: x.patientAgeSex,
      studyDate: x.studyDate,
      accession: x.accession,
      series: x.series,
    })),
  );
  const [reportOpen, setReportOpen] = useState(false);
  const ref = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    const el = ref.current!;
    setSide(vps.attachSide(index, el) ?? undefined);
    const ro = new ResizeObserver(() => vps.ctrl.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      vps.detachSide(index, el);
    };
  }, [vps, index]);
  const ctx = useMemo(() => sideContext(studyUID, side, st, index, active, vps.ctrl.ids.renderingEngineId), [studyUID, side, st.studyUID, st.seriesUID, st.imageIds, st.entries, index, active, vps]); // eslint-disable-line react-hooks/exhaustive-deps
  // Its stack is on screen: the open study's stored measurements on it are drawn (the one measurement path).
  useEffect(() => {
    if (st.stackReady) measurements?.hydrateActive();
  }, [st.stackReady, st.imageIds]);
  const prior = st.label ? vps.prior : null;
  const linkVoi = useStore(vps.store, (x) => x.linkVoi);
  return (
    <div className="viewport-wrap" data-viewport-index={index} data-active={active} {...dropProps(vps, index)} style={{ minHeight: 0, minWidth: 0, overflow: 'hidden' }}>
      <div ref={ref} className="viewport-element" data-testid={`viewport-${index}`} onContextMenu={(e) => e.preventDefault()} />
      {side && (
        <CornerOverlay source={side.overlay} patient={patientLines(st, st.series ?? undefined)} viewportIndex={index}>
          {st.label && (
            <div className="side-label" data-testid={`viewport-label-${index}`} style={{ color: '#ffcc80' }}>
              {st.label}
            </div>
          )}
        </CornerOverlay>
      )}
      {prior && (
        <button type="button" data-testid="link-voi" className={linkVoi ? 'on' : ''} onClick={() => vps.toggleLinkVoi()} title="Window/level linked between current and prior (key L)" style={{ position: 'absolute', top: '2.6em', right: 8, zIndex: 4, fontSize: 12 }}>
          {linkVoi ? 'W/L linked' : 'W/L unlinked'}
        </button>
      )}
      {/* Above the slice corner, which it would otherwise cover. */}
      {prior && (
        <div style={{ position: 'absolute', bottom: '5.5em', left: 8, right: 8, zIndex: 4, fontSize: 12 }}>
          <button type="button" data-testid="prior-report-toggle" onClick={() => setReportOpen(!reportOpen)} style={{ fontSize: 12 }}>
            {reportOpen ? 'Hide prior report' : 'Prior report'}
          </button>
          {reportOpen && (
            <pre data-testid="viewport-prior-report" style={{ whiteSpace: 'pre-wrap', maxHeight: '40vh', overflow: 'auto', background: 'rgba(20,24,30,0.92)', padding: 6, margin: '4px 0 0' }}>
              {prior.report ?? 'No signed report for the prior.'}
            </pre>
          )}
        </div>
      )}
      {st.error && (
        <div className="viewport-error" role="alert">
          <p>{st.error}</p>
        </div>
      )}
      {ready &&
        side &&
        st.imageIds.length > 0 &&
        viewerExtensions().map((ext) =>
          ext.Overlay ? (
            <div className="ext-overlay" key={ext.id}>
              <ext.Overlay ctx={ctx} />
            </div>
          ) : null,
        )}
      {active && <div style={ACTIVE_OUTLINE} data-testid="active-viewport" />}
    </div>
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
  /** The layout's grid: every viewport is inside it. */
  const gridRef = useRef<HTMLDivElement>(null);
  const [controller] = useState(() => new ViewerController(studyUID));
  const [viewports] = useState(() => new Viewports(controller));
  const lay = useStore(viewports.store);
  const [bindings, setBindings] = useState<Bindings>(loadBindings);
  // Only what this component draws: the slice index, window and zoom change on every scroll step or
  // drag and are read by <OverlayText> alone, so a scroll re-renders that and not the whole viewer.
  const s = useViewerStore(
    useShallow((st) => ({
      patientName: st.patientName,
      patientId: st.patientId,
      studyDate: st.studyDate,
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
    viewports.attachMain(el);
    window.__viewer = { getState: () => controller.testState(), getViewports: () => viewports.testState() };
    void controller.open();
    const ro = new ResizeObserver(() => controller.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      viewports.dispose();
      controller.dispose();
      delete window.__viewer;
    };
  }, [controller, viewports]);

  const ctx: ViewerContext = useMemo(
    () => ({
      studyInstanceUID: studyUID,
      displayedStudyUID: studyUID,
      viewportIndex: 0,
      active: lay.active === 0,
      activeSeriesUID: s.activeSeriesUID,
      imageIds: s.imageIds,
      imageRefs: imageRefsOf(s.entries),
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
    [studyUID, s.activeSeriesUID, s.imageIds, s.entries, s.firstImageShown, controller, lay.active],
  );
  // Panels, the toolbar and commands get the active viewport's context.
  const activeSide = lay.active > 0 ? viewports.side(lay.active) : undefined;
  const activeSideState = useStore(activeSide?.store ?? emptySideStore, useShallow((x) => ({ studyUID: x.studyUID, seriesUID: x.seriesUID, imageIds: x.imageIds, entries: x.entries })));
  const activeCtx: ViewerContext = useMemo(
    () => (activeSide ? sideContext(studyUID, activeSide, activeSideState as SideState, lay.active, true, controller.ids.renderingEngineId) : ctx),
    [activeSide, activeSideState, ctx, studyUID, lay.active, controller],
  );
  const ctxRef = useRef(activeCtx);
  ctxRef.current = activeCtx;
  /** Viewport 0's context: the measurement path's view of viewport 0 (side viewports add their own). */
  const mainCtxRef = useRef(ctx);
  mainCtxRef.current = ctx;

  // Stored measurements: loaded once the first image is on screen, drawn on each series as it opens,
  // in viewport 0 and in any side viewport showing the open study (one path for all of them).
  useEffect(() => {
    if (!s.firstImageShown || !gridRef.current) return;
    const sync = new MeasurementSync(
      {
        studyUID,
        views: () => [{ viewportId: controller.ids.viewportId, imageIds: mainCtxRef.current.imageIds, imageRefs: mainCtxRef.current.imageRefs }, ...viewports.sideMeasurementViews()],
        message: (text) => useViewerStore.setState({ measureMessage: text }),
      },
      gridRef.current,
    );
    measurements = sync;
    (window as { __measurements?: MeasurementSync }).__measurements = sync;
    return () => {
      sync.dispose();
      if (measurements === sync) measurements = null;
      delete (window as { __measurements?: MeasurementSync }).__measurements;
    };
  }, [s.firstImageShown, studyUID, controller, viewports]);
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
      if (runViewerCommand(controller, command, ctxRef.current, viewports)) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [bindings, controller, viewports]);

  // Capabilities run viewer commands by id without importing the viewer (the report panel's "Compare side by side").
  useEffect(() => {
    const on = (e: Event) => void runViewerCommand(controller, String((e as CustomEvent<unknown>).detail), ctxRef.current, viewports);
    window.addEventListener('rs:viewer-command', on);
    return () => window.removeEventListener('rs:viewer-command', on);
  }, [controller, viewports]);

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
        if (command) runViewerCommand(controller, command, ctxRef.current, viewports);
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
            onOpen={() => viewports.assign(lay.active, x.seriesInstanceUID)}
          />
        ))}
      </aside>
      <section className="viewer-main">
        <div className="toolbar" role="toolbar" aria-label="Viewer tools">
          {/* One row that fits beside both panels at 1280 px: presets and the left-button tool are
              menus (keys 1-5 and w p z l g b c k reach them directly), the rest are short buttons. */}
          <select
            aria-label="Window preset"
            data-testid="preset-select"
            style={MENU_STYLE}
            value=""
            title="Window presets (keys 1-5)"
            onChange={(e) => {
              const i = Number(e.target.value);
              if (e.target.value !== '' && i >= 0) viewports.activePane().setPresetSlot(i);
            }}
          >
            <option value="" disabled>
              Window…
            </option>
            {presetsFor(active?.modality).map((p, i) => (
              <option key={`${active?.modality}-${p.label}`} value={i} data-preset={active?.modality === 'CT' ? (Object.keys(WINDOW_PRESETS) as PresetId[])[i] : `slot-${i + 1}`}>
                {p.label}
              </option>
            ))}
          </select>
          <select
            aria-label="Left mouse button"
            data-testid="tool-select"
            style={MENU_STYLE}
            value={s.leftTool}
            title="Left drag (keys w p z; measure: l g b c k)"
            onChange={(e) => {
              const t = e.target.value as LeftToolName;
              if (t in LEFT_TOOL_LABELS && t !== 'windowLevel' && t !== 'pan' && t !== 'zoom') runViewerCommand(controller, `measure.${t}`, ctx);
              else controller.setLeftTool(t);
            }}
          >
            {(Object.keys(LEFT_TOOL_LABELS) as LeftToolName[]).map((t) => (
              <option key={t} value={t} data-tool={t}>
                {LEFT_TOOL_LABELS[t]}
              </option>
            ))}
          </select>
          <button type="button" data-testid="mark-missed" className={s.markingMissed ? 'on' : ''} onClick={() => runViewerCommand(controller, 'finding.markMissed', ctx)} title="Mark a finding the AI missed (key m)">
            Missed
          </button>
          <button type="button" onClick={() => viewports.activePane().toggleInvert()} className={s.invert ? 'on' : ''} title="Invert (key i)">
            Invert
          </button>
          <button type="button" onClick={() => viewports.activePane().reset()} title="Reset view (key r)">
            Reset
          </button>
          {(['1x1', '1x2', '2x2'] as const).map((l) => (
            <button type="button" key={l} data-layout={l} className={lay.layout === l ? 'on' : ''} onClick={() => viewports.setLayout(l)} title={`Layout ${l.replace('x', '×')} (key ${{ '1x1': 7, '1x2': 8, '2x2': 9 }[l]})`} style={{ padding: '0.2rem 0.3rem' }}>
              {l.replace('x', '×')}
            </button>
          ))}
          <button type="button" data-testid="compare-prior" className={lay.comparing ? 'on' : ''} onClick={() => runViewerCommand(controller, 'viewer.comparePrior', activeCtx, viewports)} title="Compare with the most recent relevant prior, side by side (key C)">
            Prior
          </button>
          <button type="button" onClick={() => useViewerStore.setState({ helpOpen: true })} aria-label="Keyboard shortcuts">
            ?
          </button>
        </div>
        {lay.message && (
          <div role="status" data-testid="layout-message" style={{ padding: '2px 10px', color: '#ffcc80', fontSize: 13 }}>
            {lay.message}
          </div>
        )}
        <div
          ref={gridRef}
          className="viewport-grid"
          data-layout={lay.layout}
          style={{ flex: 1, minHeight: 0, display: 'grid', gap: lay.layout === '1x1' ? 0 : 2, background: '#222', gridTemplateColumns: lay.layout === '1x1' ? '1fr' : '1fr 1fr', gridTemplateRows: lay.layout === '2x2' ? '1fr 1fr' : '1fr' }}
        >
        <div className="viewport-wrap" data-viewport-index={0} data-active={lay.active === 0} {...(lay.layout === '1x1' ? {} : dropProps(viewports, 0))} style={{ minHeight: 0, minWidth: 0, overflow: lay.layout === '1x1' ? undefined : 'hidden' }}>
          <div ref={elementRef} className="viewport-element" data-testid="viewport" onContextMenu={(e) => e.preventDefault()} />
          {lay.layout !== '1x1' && lay.active === 0 && <div style={ACTIVE_OUTLINE} data-testid="active-viewport" />}
          {lay.comparing && (
            <div data-testid="viewport-label-0" style={{ position: 'absolute', top: '2.2em', left: '0.7rem', color: '#9ee6ff', fontSize: 13, textShadow: '0 0 3px #000', pointerEvents: 'none', zIndex: 3 }}>
              Current {s.studyDate}
            </div>
          )}
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
        {Array.from({ length: LAYOUT_CELLS[lay.layout] - 1 }, (_, k) => (
          <SideCell key={k + 1} index={k + 1} vps={viewports} studyUID={studyUID} active={lay.active === k + 1} ready={extensionsReady} />
        ))}
        </div>
      </section>
      {extensions.some((e) => e.Panel || e.Toolbar) && (
        <aside className="side-panel">
          {/* The capabilities' controls (AI marks, heatmaps, AI status, study AI switch) head their
              panel: always in view, and the image's toolbar stays one fixed row. */}
          <div className="side-toolbar" role="toolbar" aria-label="AI controls">
            {extensions.map((ext) => (ext.Toolbar ? <ext.Toolbar key={ext.id} ctx={activeCtx} /> : null))}
          </div>
          {extensionsReady && extensions.map((ext) => (ext.Panel ? <ext.Panel key={ext.id} ctx={activeCtx} /> : null))}
        </aside>
      )}
      {s.helpOpen && <HelpOverlay bindings={bindings} onChange={updateBindings} />}
    </main>
  );
}
