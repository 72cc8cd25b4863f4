/**
 * Layouts (1×1, 1×2, 2×2), the active viewport, and the comparison with a prior (issue 15 item 4,
 * issue 16 item 4). Viewport 0 is the controller's own viewport and keeps its single-viewport path
 * untouched (first image, prefetch); viewports 1–3 are made only when a layout shows them
 * (SideViewport), in the same rendering engine. Each is a full viewport for reading: its own corner
 * text (the same OverlayText painting, fed from its own store), the same tool group and measurement
 * path as viewport 0, and its own cine. While comparing, the active viewport leads:
 * its slice is matched in the other one (matchSlice: position in a shared Frame of Reference, else
 * Slice Location) and its window/level is copied there while linked. Only the active viewport leads,
 * so a follower's own events never echo back.
 */
import { Enums, cache, imageLoadPoolManager, imageLoader } from '@cornerstonejs/core';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { useViewerStore, type SeriesInfo } from './store';
import type { LoadedSeries, ViewerController } from './controller';
import { createSideViewport, renderStepNow, type LeftTool, type SideViewportHandle } from './cornerstone';
import { CineLoop, nextCineIndex } from './cine';
import { seriesOfInstance, studyFieldsOf, type OverlaySource, type SeriesLineInfo, type StudyFields } from './overlayText';
import { imageRefsOf, leftToolFor, type MeasurementView } from './paneRules';
import { markersOf, readViewGeometry, sameMarkers, viewGeometryKey } from './viewGeometry';
import type { OrientationMarkers } from '../core/imaging/orientation';
import { matchSlice, type SliceRef } from '../core/imaging/sync';
import { TAG, formatDicomDate, str } from '../core/imaging/dicomJson';
import { presetsFor, type VoiRange } from '../core/imaging/voi';
import { modalityBounds } from '../core/imaging/voiMeta';
import { pickPriorSeries, seriesFromQido } from './series';
import { searchSeries } from '../dicomweb/client';

export type Layout = '1x1' | '1x2' | '2x2';
export const LAYOUT_CELLS: Record<Layout, number> = { '1x1': 1, '1x2': 2, '2x2': 4 };

export interface SideState extends StudyFields {
  studyUID: string | null;
  seriesUID: string | null;
  modality: string;
  entries: LoadedSeries['entries'];
  imageIds: string[];
  imageIndex: number;
  voi: VoiRange | null;
  /** What the corner text says besides the slice and window (as the viewer store has them for viewport 0). */
  invert: boolean;
  zoom: number;
  mmPerPx: number | null;
  orientation: OrientationMarkers | null;
  cineOn: boolean;
  /** The series shown, for the corner's series line (a prior's is in no series list of this study). */
  series: SeriesLineInfo | null;
  /** Its stack is set on the viewport (stored measurements can be drawn on it). */
  stackReady: boolean;
  /** What the viewport shows when it is not the open study's: "Prior 2026-05-01 · Head". */
  label: string | null;
  error: string | null;
}

export const emptySide = (): SideState => ({
  studyUID: null,
  seriesUID: null,
  modality: '',
  entries: [],
  imageIds: [],
  imageIndex: 0,
  voi: null,
  invert: false,
  zoom: 1,
  mmPerPx: null,
  orientation: null,
  cineOn: false,
  series: null,
  stackReady: false,
  ...studyFieldsOf(undefined),
  label: null,
  error: null,
});

/** What viewport 0 (the controller) and the side viewports both do for the keyboard and toolbar. */
export interface Pane {
  scrollTo(index: number): Promise<void>;
  scrollBy(delta: number): Promise<void>;
  showSeries(uid: string): Promise<void>;
  setPresetSlot(slot: number): void;
  setVoi(range: VoiRange): void;
  toggleInvert(): void;
  reset(): void;
  zoomBy(factor: number): void;
  /** Cine of this viewport: play or stop (the `viewer.cine` command plays the active viewport). */
  toggleCine(): void;
}

/** The slice geometry of a stack, for matching slices across viewports (built once per stack, read at every synchronised step). */
const refsCache = new WeakMap<LoadedSeries, SliceRef[]>();
export function sliceRefsOf(st: LoadedSeries): SliceRef[] {
  let refs = refsCache.get(st);
  if (!refs || refs.length !== st.entries.length) {
    refs = st.entries.map((e) => {
      const inst = st.instances[e.instanceIndex];
      return { frameOfReferenceUID: str(inst, '00200052'), ipp: e.geometry.ipp, iop: e.geometry.iop, sliceLocation: e.sliceLocation };
    });
    refsCache.set(st, refs);
  }
  return refs;
}

/** A viewport of a 1×2 or 2×2 layout beside viewport 0: any series of the study, or of a prior. */
export class SideViewport implements Pane {
  readonly store: StoreApi<SideState> = createStore<SideState>(() => emptySide());
  private handle: SideViewportHandle;
  private stack: LoadedSeries | null = null;
  private token = 0;
  /** The window last set; the CPU path reports each new slice's header window instead (see the controller). */
  private voiInEffect: VoiRange | null = null;
  private initialRange: VoiRange | null = null;
  private cleanups: (() => void)[] = [];
  private disposed = false;
  /** The toolbar's left-button tool (what this viewport takes of it depends on the study it shows). */
  private leftTool: LeftTool = 'windowLevel';
  private geometryKey = '';
  private cine = new CineLoop(
    () => this.scrollTo(nextCineIndex(this.currentIndex, this.store.getState().imageIds.length)),
    () => useViewerStore.getState().cineFps,
    (on) => this.store.setState({ cineOn: on }),
  );

  /**
   * What its corner text is painted from: its own store, and the one cine rate of the viewer store.
   * Only a rate change of the viewer store is passed on: viewport 0's scroll steps are not this
   * viewport's business.
   */
  readonly overlay: OverlaySource = {
    get: () => ({ ...this.store.getState(), cineFps: useViewerStore.getState().cineFps }),
    subscribe: (onChange) => {
      const own = this.store.subscribe(onChange);
      const rate = useViewerStore.subscribe((s, prev) => {
        if (s.cineFps !== prev.cineFps) onChange();
      });
      return () => {
        own();
        rate();
      };
    },
  };

  constructor(
    readonly index: number,
    private ctrl: ViewerController,
    readonly element: HTMLDivElement,
    private onEvent: (index: number, kind: 'image' | 'voi') => void,
  ) {
    this.handle = createSideViewport(ctrl.engine!, element);
    const on = (name: string, fn: (e: Event) => void) => {
      element.addEventListener(name, fn);
      this.cleanups.push(() => element.removeEventListener(name, fn));
    };
    on(Enums.Events.STACK_NEW_IMAGE, (e) => {
      const d = (e as CustomEvent<{ imageIdIndex: number; imageId: string }>).detail;
      if (this.store.getState().imageIds[d.imageIdIndex] === d.imageId) this.store.setState({ imageIndex: d.imageIdIndex });
      this.onEvent(this.index, 'image');
    });
    on(Enums.Events.IMAGE_RENDERED, () => {
      const held = this.voiInEffect;
      const reported = this.viewport.getProperties().voiRange;
      if (held && (reported?.lower !== held.lower || reported?.upper !== held.upper)) this.viewport.setProperties({ voiRange: held }, true);
      this.syncView();
    });
    on(Enums.Events.CAMERA_MODIFIED, () => this.syncView());
    on(Enums.Events.VOI_MODIFIED, (e) => {
      const r = (e as CustomEvent<{ range?: VoiRange }>).detail.range;
      if (!r) return;
      this.voiInEffect = { lower: r.lower, upper: r.upper };
      this.store.setState({ voi: this.voiInEffect });
      this.onEvent(this.index, 'voi');
    });
  }

  get viewport() {
    return this.handle.viewport;
  }
  get viewportId(): string {
    return this.handle.viewportId;
  }
  get sliceRefs(): SliceRef[] {
    return this.stack ? sliceRefsOf(this.stack) : [];
  }
  get currentIndex(): number {
    return this.store.getState().imageIndex;
  }

  /**
   * The corner text's window, polarity, zoom, scale and orientation, from the viewport after each
   * render or camera change (as the controller's syncView does for viewport 0); the store changes
   * only where one of them did, so a plain scroll step repaints the slice corner alone.
   */
  private syncView(): void {
    const vp = this.viewport;
    const s = this.store.getState();
    if (!s.imageIds.length) return;
    let p: ReturnType<typeof vp.getProperties>;
    let zoom: number;
    try {
      p = vp.getProperties();
      zoom = vp.getZoom();
    } catch {
      return; // no image in yet (a resize before the stack's first image): the next render brings it
    }
    const voi = p.voiRange ? { lower: p.voiRange.lower, upper: p.voiRange.upper } : null;
    const patch: Partial<SideState> = {};
    if (s.voi?.lower !== voi?.lower || s.voi?.upper !== voi?.upper) patch.voi = voi;
    if (s.invert !== !!p.invert) patch.invert = !!p.invert;
    if (Math.abs(s.zoom - zoom) > 1e-6) patch.zoom = zoom;
    const entry = s.entries[s.imageIndex];
    const view = entry ? readViewGeometry(vp, entry) : null;
    if (entry && view) {
      const key = viewGeometryKey(s.seriesUID, entry, zoom, view);
      if (key !== this.geometryKey) {
        this.geometryKey = key;
        const orientation = markersOf(entry, view);
        if (s.mmPerPx !== view.mmPerPx) patch.mmPerPx = view.mmPerPx;
        if (!sameMarkers(s.orientation, orientation)) patch.orientation = orientation;
      }
    }
    if (Object.keys(patch).length) this.store.setState(patch);
  }

  /** Shows a series (of the open study or another); `label` names a study that is not the open one. */
  async show(studyUID: string, seriesUID: string, opts: { index?: number; label?: string | null } = {}): Promise<void> {
    const token = ++this.token;
    this.cine.stop();
    this.store.setState({ studyUID, seriesUID, error: null, label: opts.label ?? null, stackReady: false });
    this.handle.setLeftTool(leftToolFor(this.leftTool, studyUID === this.ctrl.studyUID));
    let st: LoadedSeries;
    try {
      st = await this.ctrl.loadStack(studyUID, seriesUID);
    } catch {
      if (token === this.token) this.store.setState({ error: 'This series could not be loaded.', imageIds: [], entries: [] });
      return;
    }
    if (this.disposed || token !== this.token) return;
    if (!st.imageIds.length) return void this.store.setState({ error: 'This series has no images.', imageIds: [], entries: [] });
    this.stack = st;
    const i = Math.max(0, Math.min(opts.index ?? 0, st.imageIds.length - 1));
    const first = st.instances[st.entries[0].instanceIndex];
    // The corner names this viewport's own study (a prior's date and accession) and series.
    const listed = studyUID === this.ctrl.studyUID ? useViewerStore.getState().series.find((x) => x.seriesInstanceUID === seriesUID) : undefined;
    this.store.setState({ entries: st.entries, imageIds: st.imageIds, imageIndex: i, modality: str(first, TAG.Modality) ?? '', ...studyFieldsOf(first), series: listed ?? seriesOfInstance(first) });
    this.voiInEffect = null;
    try {
      await this.viewport.setStack(st.imageIds, i);
    } catch {
      if (token === this.token) this.store.setState({ error: 'This image could not be shown.' });
    }
    if (this.disposed || token !== this.token) return;
    this.initialRange = this.viewport.getProperties().voiRange ?? null;
    this.store.setState({ stackReady: true });
    this.syncView();
    this.prefetch(token);
  }

  showSeries(uid: string): Promise<void> {
    return this.show(this.ctrl.studyUID, uid);
  }

  /** The rest of the stack at prefetch priority, nearest first (a synchronised scroll then finds its slices decoded). */
  private prefetch(token: number): void {
    const { imageIds, imageIndex } = this.store.getState();
    const order = imageIds.map((id, i) => ({ id, d: Math.abs(i - imageIndex) })).sort((a, b) => a.d - b.d);
    for (const { id } of order) {
      if (cache.isLoaded(id)) continue;
      imageLoadPoolManager.addRequest(
        () => (token !== this.token || this.disposed || cache.isLoaded(id) ? Promise.resolve() : imageLoader.loadAndCacheImage(id, { requestType: Enums.RequestType.Prefetch } as never).then(() => undefined, () => undefined)),
        Enums.RequestType.Prefetch,
        { imageId: id },
        0,
      );
    }
  }

  scrollTo(index: number): Promise<void> {
    const n = this.store.getState().imageIds.length;
    if (!n) return Promise.resolve();
    const i = Math.max(0, Math.min(n - 1, index));
    this.store.setState({ imageIndex: i });
    return this.viewport.setImageIdIndex(i).then(
      () => {
        if (this.store.getState().imageIndex === i) renderStepNow(this.viewport);
      },
      () => undefined,
    );
  }

  scrollBy(delta: number): Promise<void> {
    return this.scrollTo(this.viewport.getTargetImageIdIndex() + delta);
  }

  setVoi(range: VoiRange): void {
    this.viewport.setProperties({ voiRange: range });
    this.viewport.render();
  }

  setPresetSlot(slot: number): void {
    const preset = presetsFor(this.store.getState().modality)[slot];
    if (!preset) return;
    const image = (this.viewport as unknown as { getCornerstoneImage?: () => { minPixelValue: number; maxPixelValue: number } }).getCornerstoneImage?.();
    const [min, max] = image ? modalityBounds(image as never) : [0, 0];
    const range = preset.range({ initial: this.initialRange, min, max });
    if (range) this.setVoi(range);
  }

  toggleInvert(): void {
    this.viewport.setProperties({ invert: !this.viewport.getProperties().invert });
    this.viewport.render();
  }

  reset(): void {
    this.voiInEffect = null;
    this.viewport.resetProperties();
    this.viewport.resetCamera();
    this.viewport.render();
  }

  zoomBy(factor: number): void {
    this.viewport.setZoom(this.viewport.getZoom() * factor);
    this.viewport.render();
  }

  setLeftTool(tool: LeftTool): void {
    this.leftTool = tool;
    this.handle.setLeftTool(leftToolFor(tool, this.store.getState().studyUID === this.ctrl.studyUID));
  }

  toggleCine(): void {
    if (this.cine.playing) return this.cine.stop();
    if (this.store.getState().imageIds.length < 2 || this.disposed) return;
    this.cine.start();
  }

  /** Where its stored measurements are drawn, when it shows the open study's images (else none). */
  measurementView(): MeasurementView | null {
    const s = this.store.getState();
    if (s.studyUID !== this.ctrl.studyUID || !s.stackReady || !s.imageIds.length) return null;
    return { viewportId: this.viewportId, imageIds: s.imageIds, imageRefs: imageRefsOf(s.entries) };
  }

  /** ImagePositionPatient of the slice on screen (e2e checks and the overlay). */
  currentPosition(): number[] | undefined {
    return this.stack?.entries[this.currentIndex]?.geometry.ipp;
  }

  destroy(): void {
    this.disposed = true;
    this.cine.stop();
    this.token++;
    for (const c of this.cleanups.splice(0)) c();
    this.handle.destroy();
  }
}

export interface LayoutState {
  layout: Layout;
  active: number;
  /** Comparing with a prior: viewport 1 shows it, scrolling is synchronised. */
  comparing: boolean;
  /** Window/level linked between the compared viewports. */
  linkVoi: boolean;
  message: string | null;
}

/** Layout, active viewport, side viewports and the comparison, for one open study. */
export class Viewports {
  readonly store: StoreApi<LayoutState> = createStore<LayoutState>(() => ({ layout: '1x1', active: 0, comparing: false, linkVoi: true, message: null }));
  private sides = new Map<number, SideViewport>();
  private waiters = new Map<number, ((s: SideViewport) => void)[]>();
  private cleanups: (() => void)[] = [];
  /** The prior shown in viewport 1 while comparing (uid and its date). */
  prior: { studyUID: string; date: string; report: string | null } | null = null;

  constructor(readonly ctrl: ViewerController) {}

  /** Listens to viewport 0 (after the controller attached it). */
  attachMain(element: HTMLDivElement): void {
    const onImage = () => this.follow(0, 'image');
    const onVoi = () => this.follow(0, 'voi');
    element.addEventListener(Enums.Events.STACK_NEW_IMAGE, onImage);
    element.addEventListener(Enums.Events.VOI_MODIFIED, onVoi);
    // The left-button tool follows the toolbar in every viewport (side viewports: W/L, pan or zoom).
    this.cleanups.push(useViewerStore.subscribe((s, prev) => {
      if (s.leftTool !== prev.leftTool) for (const side of this.sides.values()) side.setLeftTool(s.leftTool);
    }));
    this.cleanups.push(() => {
      element.removeEventListener(Enums.Events.STACK_NEW_IMAGE, onImage);
      element.removeEventListener(Enums.Events.VOI_MODIFIED, onVoi);
    });
  }

  side(index: number): SideViewport | undefined {
    return this.sides.get(index);
  }

  /** A side cell's element came (React ref): its viewport is made now, not before the layout needs it. */
  attachSide(index: number, element: HTMLDivElement): SideViewport | null {
    if (!this.ctrl.engine) return null;
    const existing = this.sides.get(index);
    if (existing?.element === element) return existing;
    existing?.destroy();
    const side = new SideViewport(index, this.ctrl, element, (i, kind) => this.follow(i, kind));
    side.setLeftTool(useViewerStore.getState().leftTool);
    this.sides.set(index, side);
    for (const w of this.waiters.get(index) ?? []) w(side);
    this.waiters.delete(index);
    this.ctrl.resize();
    // A new cell shows the next series of the study after the one in viewport 0 (as PACS fill a grid).
    if (!(index === 1 && this.store.getState().comparing)) {
      const series = useViewerStore.getState().series;
      const at = series.findIndex((s) => s.seriesInstanceUID === useViewerStore.getState().activeSeriesUID);
      const pick = series[(Math.max(0, at) + index) % Math.max(1, series.length)];
      if (pick) void side.show(this.ctrl.studyUID, pick.seriesInstanceUID);
    }
    return side;
  }

  detachSide(index: number, element: HTMLDivElement): void {
    const side = this.sides.get(index);
    if (side?.element !== element) return;
    side.destroy();
    this.sides.delete(index);
  }

  private whenSide(index: number): Promise<SideViewport> {
    const s = this.sides.get(index);
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => this.waiters.set(index, [...(this.waiters.get(index) ?? []), resolve]));
  }

  setLayout(layout: Layout): void {
    const cells = LAYOUT_CELLS[layout];
    const st = this.store.getState();
    this.store.setState({ layout, active: st.active < cells ? st.active : 0, comparing: st.comparing && cells >= 2, message: null });
    if (cells < 2) this.prior = null;
  }

  setActive(index: number): void {
    if (index < LAYOUT_CELLS[this.store.getState().layout] && index !== this.store.getState().active) this.store.setState({ active: index });
  }

  nextViewport(): void {
    const { layout, active } = this.store.getState();
    this.store.setState({ active: (active + 1) % LAYOUT_CELLS[layout] });
  }

  /** The side viewports showing the open study's images, for the measurement path (viewport 0 is the page's). */
  sideMeasurementViews(): MeasurementView[] {
    return [...this.sides.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, side]) => side.measurementView())
      .filter((v): v is MeasurementView => v !== null);
  }

  /** The pane the keyboard and toolbar act on. */
  activePane(): Pane {
    const a = this.store.getState().active;
    return (a > 0 && this.sides.get(a)) || this.ctrl;
  }

  /** Puts a series of the open study in a viewport (drag and drop, or a click on a thumbnail for the active one). */
  assign(index: number, seriesUID: string): void {
    this.setActive(index);
    if (index === 0) void this.ctrl.showSeries(seriesUID);
    else {
      if (index === 1 && this.store.getState().comparing) this.store.setState({ comparing: false });
      void this.sides.get(index)?.show(this.ctrl.studyUID, seriesUID);
    }
  }

  toggleLinkVoi(): void {
    this.store.setState({ linkVoi: !this.store.getState().linkVoi });
  }

  /**
   * Compare with the most recent relevant prior (same modality and body part: the gateway's choice,
   * from /api/studies/:s/priors): 1×2, the prior in viewport 1 labelled with its date, at the slice
   * matching the current one, window/level linked.
   */
  async comparePrior(comparison: { studyUID: string; date: string; report: string | null } | null): Promise<void> {
    if (!comparison) {
      this.store.setState({ message: 'No relevant prior (same modality and body part) for this patient.' });
      return;
    }
    this.store.setState({ message: null });
    let series: SeriesInfo[];
    try {
      series = seriesFromQido(await searchSeries(comparison.studyUID));
    } catch {
      this.store.setState({ message: 'The prior could not be loaded from the PACS.' });
      return;
    }
    const s = useViewerStore.getState();
    const pick = pickPriorSeries(series, s.series.find((x) => x.seriesInstanceUID === s.activeSeriesUID));
    if (!pick) return void this.store.setState({ message: 'The prior has no images.' });
    this.prior = comparison;
    this.store.setState({ layout: '1x2', comparing: true, linkVoi: true, active: 0 });
    const side = await this.whenSide(1);
    const date = comparison.date ? formatDicomDate(comparison.date.replace(/-/g, '')) : '';
    await side.show(comparison.studyUID, pick.seriesInstanceUID, { label: `Prior ${date || '(undated)'}${pick.description ? ` · ${pick.description}` : ''}` });
    // Start level with the current viewport: its slice, and its window while linked.
    this.follow(0, 'image');
    this.follow(0, 'voi');
  }

  stopComparing(): void {
    this.prior = null;
    this.store.setState({ comparing: false });
  }

  /** Refs of the slices in viewport i and its current index. */
  private paneSlices(i: number): { refs: SliceRef[]; index: number } | null {
    if (i === 0) {
      const uid = useViewerStore.getState().activeSeriesUID;
      const st = uid ? this.ctrl.loadedStack(uid) : undefined;
      return st ? { refs: sliceRefsOf(st), index: useViewerStore.getState().imageIndex } : null;
    }
    const side = this.sides.get(i);
    return side ? { refs: side.sliceRefs, index: side.currentIndex } : null;
  }

  /** The active viewport moved or changed its window: the compared viewport follows. */
  private follow(from: number, kind: 'image' | 'voi'): void {
    const st = this.store.getState();
    if (!st.comparing || from !== st.active || from > 1) return;
    const to = 1 - from;
    const target: Pane | undefined = to === 0 ? this.ctrl : this.sides.get(to);
    if (!target) return;
    if (kind === 'image') {
      const a = this.paneSlices(from);
      const b = this.paneSlices(to);
      if (!a || !b || !a.refs[a.index]) return;
      const m = matchSlice(a.refs[a.index], b.refs);
      if (m.index >= 0 && m.index !== b.index) void target.scrollTo(m.index);
    } else if (st.linkVoi) {
      const voi = from === 0 ? this.ctrl.viewport?.getProperties().voiRange : this.sides.get(from)?.viewport.getProperties().voiRange;
      const theirs = to === 0 ? this.ctrl.viewport?.getProperties().voiRange : this.sides.get(to)?.viewport.getProperties().voiRange;
      if (voi && (voi.lower !== theirs?.lower || voi.upper !== theirs?.upper)) target.setVoi({ lower: voi.lower, upper: voi.upper });
    }
  }

  testState() {
    const st = this.store.getState();
    const main = useViewerStore.getState();
    const mainStack = main.activeSeriesUID ? this.ctrl.loadedStack(main.activeSeriesUID) : undefined;
    const vp0 = this.ctrl.viewport?.getProperties().voiRange;
    const out = [
      {
        index: 0,
        studyUID: this.ctrl.studyUID,
        seriesUID: main.activeSeriesUID,
        imageIndex: main.imageIndex,
        imageCount: main.imageIds.length,
        ipp: mainStack?.entries[main.imageIndex]?.geometry.ipp ?? null,
        voi: vp0 ? { lower: vp0.lower, upper: vp0.upper } : null,
        label: null as string | null,
        cineOn: main.cineOn,
        sops: mainStack?.entries.map((e) => e.sopInstanceUID) ?? [],
      },
    ];
    for (const [i, side] of [...this.sides.entries()].sort((a, b) => a[0] - b[0])) {
      const s = side.store.getState();
      const v = side.viewport.getProperties().voiRange;
      out.push({ index: i, studyUID: s.studyUID ?? '', seriesUID: s.seriesUID, imageIndex: s.imageIndex, imageCount: s.imageIds.length, ipp: side.currentPosition() ?? null, voi: v ? { lower: v.lower, upper: v.upper } : null, label: s.label, cineOn: s.cineOn, sops: s.entries.map((e) => e.sopInstanceUID) });
    }
    return { layout: st.layout, active: st.active, comparing: st.comparing, linkVoi: st.linkVoi, viewports: out };
  }

  dispose(): void {
    for (const c of this.cleanups.splice(0)) c();
    for (const s of this.sides.values()) s.destroy();
    this.sides.clear();
  }
}

