/**
 * Bridges the viewer store and Cornerstone: loads series metadata, orders stacks, drives the
 * viewport, and turns every failure into a message on the image or series it concerns.
 */
import { Enums, cache, eventTarget, getShouldUseCPURendering, imageLoader, imageLoadPoolManager, type Types } from '@cornerstonejs/core';
import { wadors } from '@cornerstonejs/dicom-image-loader';
import { createStackViewport, instanceKey, loadInstanceAsFile, markPart10, noteHandledLoadError, renderStepNow, type LeftTool, type ViewportHandle } from './cornerstone';
import { initialViewerState, patchSeries, useViewerStore } from './store';
import { framesPerSeries, imageSeriesHiddenByModality, seriesFromQido } from './series';
import { takePrefetched } from '../app/prefetch';
import { forgetStudyFrames } from '../dicomweb/frames';
import { FIRST_IMAGE_MARK, notifyFirstImage, notifyStackCached, resetFirstImage } from '../app/firstImage';
import { retrieveSeriesMetadata, searchInstances, searchSeries, wadorsImageId, DicomWebError } from '../dicomweb/client';
import { buildStack, compareSeries, framePath, isImageSopClass, type StackEntry } from '../core/imaging/stack';
import { TAG, num, nums, seq, str, type DicomJson } from '../core/imaging/dicomJson';
import { studyFieldsOf } from './overlayText';
import { CineLoop, nextCineFps, nextCineIndex } from './cine';
import { markersOf, readViewGeometry, sameMarkers, viewGeometryKey } from './viewGeometry';
import { displayLut, initialVoi, presetsFor, WINDOW_PRESETS, type PresetId, type VoiRange } from '../core/imaging/voi';
import { exactDisplayVoi, imageVoiOf, type ImageVoi, lutWordsOf, modalityBounds, voiLutDescriptorOf } from '../core/imaging/voiMeta';
import { firstMultipartPart } from '../core/dicomweb/multipart';

export interface LoadedSeries {
  entries: StackEntry[];
  imageIds: string[];
  instances: DicomJson[];
}

function statusOf(err: unknown): number | undefined {
  const e = err as { status?: unknown; request?: { status?: unknown } } | undefined;
  const s = e?.status ?? e?.request?.status;
  return typeof s === 'number' ? s : undefined;
}

/** Human text for a failed image: missing on the PACS, refused, or undecodable. */
export function describeImageError(err: unknown): string {
  const e = err as { status?: number; request?: { status?: number }; message?: string; error?: unknown } | undefined;
  const status = e?.status ?? e?.request?.status;
  if (status === 404) return 'This image is no longer on the PACS (not found).';
  if (typeof status === 'number' && status >= 400) return `This image could not be fetched (HTTP ${status}).`;
  const inner = e?.error as { message?: string } | undefined;
  const msg = e?.message ?? inner?.message ?? (typeof err === 'string' ? err : '');
  return `This image could not be decoded${msg ? `: ${msg}` : ''}. The file may be truncated or corrupt.`;
}

const set = useViewerStore.setState;
const get = useViewerStore.getState;

export class ViewerController {
  private handle: ViewportHandle | null = null;
  private element: HTMLDivElement | null = null;
  private stacks = new Map<string, LoadedSeries>();
  private disposed = false;
  private awaitingFirstRender = false;
  private firstMarked = false;
  private loaded = new Set<string>();
  private cleanups: (() => void)[] = [];
  private showToken = 0;
  /** The window the active series opened with (the image's own VOI): MR and XR presets start from it. */
  private initialRange: VoiRange | null = null;
  /** The study's QIDO series list as the PACS gave it. */
  private seriesJson: DicomJson[] = [];
  /** The window last set on the viewport (initial, preset, drag); null right after a new stack. */
  private voiInEffect: VoiRange | null = null;

  constructor(readonly studyUID: string) {
    set(initialViewerState(studyUID), true);
    resetFirstImage();
  }

  get viewport(): Types.IStackViewport | null {
    return this.handle?.viewport ?? null;
  }
  get ids(): { renderingEngineId: string; viewportId: string } {
    return { renderingEngineId: this.handle?.renderingEngineId ?? '', viewportId: this.handle?.viewportId ?? '' };
  }
  get viewportElement(): HTMLDivElement | null {
    return this.element;
  }

  attach(element: HTMLDivElement): void {
    this.element = element;
    this.handle = createStackViewport(element);
    const on = (target: EventTarget, name: string, fn: (e: Event) => void) => {
      target.addEventListener(name, fn);
      this.cleanups.push(() => target.removeEventListener(name, fn));
    };
    on(element, Enums.Events.STACK_NEW_IMAGE, (e) => {
      const d = (e as CustomEvent<{ imageIdIndex: number; imageId: string }>).detail;
      if (get().imageIds[d.imageIdIndex] === d.imageId) set({ imageIndex: d.imageIdIndex });
      this.awaitingFirstRender = true;
      // The CPU path sends this before it takes the new slice in, and draws it on the next animation
      // frame: in between, the exact VOI for the slice is put in place.
      queueMicrotask(() => this.applyExactVoi(d.imageIdIndex, false));
    });
    on(element, Enums.Events.IMAGE_RENDERED, () => {
      // Cornerstone's CPU path draws a new slice with the window in effect but then reports the
      // slice's header window from getProperties(): the overlay text would name a window that is not
      // on screen, and a W/L drag would start from it. Re-stating it costs no render (the CPU path's
      // setVOI only records it) and keeps the two the same.
      const vp = this.viewport;
      const held = this.voiInEffect;
      const reported = vp?.getProperties().voiRange;
      if (vp && held && (reported?.lower !== held.lower || reported?.upper !== held.upper)) vp.setProperties({ voiRange: held }, true);
      if (this.awaitingFirstRender && !this.firstMarked) {
        this.firstMarked = true;
        // Pixels of the first image are on the canvas now (P4 in the shared notes), unless the
        // shell's preview already put the same image on screen (and marked it) before Cornerstone.
        if (!performance.getEntriesByName(FIRST_IMAGE_MARK).length) performance.mark(FIRST_IMAGE_MARK);
        notifyFirstImage();
        set({ firstImageShown: true });
        this.afterFirstPaint(() => this.startDeferredWork());
      }
      this.syncView();
    });
    // Cornerstone's keyboard listener on the viewport element cancels every key, Tab included, so
    // keyboard users could not leave the image. Tab never reaches it: it stops at the parent, in
    // the capture phase, and keeps its default (focus moves on).
    const parent = element.parentElement;
    if (parent) {
      const keepTab = (e: KeyboardEvent) => {
        if (e.key === 'Tab' && e.target === element) e.stopPropagation();
      };
      parent.addEventListener('keydown', keepTab, true);
      this.cleanups.push(() => parent.removeEventListener('keydown', keepTab, true));
    }
    on(element, Enums.Events.VOI_MODIFIED, (e) => {
      const r = (e as CustomEvent<{ range?: VoiRange }>).detail.range;
      if (r) this.voiInEffect = { lower: r.lower, upper: r.upper };
      this.applyExactVoi(undefined, true);
      this.syncView();
    });
    on(element, Enums.Events.CAMERA_MODIFIED, () => this.syncView());
    const onLoaded = (e: Event) => {
      const id = (e as CustomEvent<{ image?: { imageId?: string } }>).detail?.image?.imageId;
      if (id && get().imageIds.includes(id) && !this.loaded.has(id)) {
        this.loaded.add(id);
        set({ loadedCount: get().imageIds.filter((x) => this.loaded.has(x)).length });
        this.noteIfCached();
      }
    };
    on(eventTarget, Enums.Events.IMAGE_LOADED, onLoaded);
    const onFailed = (e: Event) => {
      const d = (e as CustomEvent<{ imageId?: string; error?: unknown }>).detail;
      if (d?.imageId) this.recordImageError(d.imageId, d.error);
    };
    on(eventTarget, Enums.Events.IMAGE_LOAD_ERROR, onFailed);
    on(eventTarget, Enums.Events.IMAGE_LOAD_FAILED, onFailed);
  }

  /** The opening stack is all in memory (or unreadable where it is not): see notifyStackCached. */
  private noteIfCached(): void {
    const s = get();
    if (s.imageIds.length && s.imageIds.every((id) => this.loaded.has(id) || s.imageErrors[id])) notifyStackCached();
  }

  /**
   * The CPU path draws every window through Cornerstone's linear LUT and ignores VOI LUT Function, and
   * it applies a VOI LUT Sequence with a bit shift guessed from the table's largest entry. Where the
   * image asks for LINEAR_EXACT, SIGMOID or its VOI LUT, the exact 8-bit table (voi.ts, PS3.3
   * C.11.2.1) is handed to that renderer as its VOI LUT, rebuilt for each new slice and each window
   * change; where linear is exact, any such table is removed. (Cornerstone's own VOI LUT Function
   * handling is kept away from the CPU path: see withDisplayDefaults.)
   */
  private exactVoiKey = '';
  /** Each instance's VOI attributes, parsed once (its LUT data is in by then: see awaitLutData), not at every slice. */
  private imageVoi = new WeakMap<DicomJson, ImageVoi>();
  private applyExactVoi(index: number | undefined, render: boolean): void {
    const vp = this.viewport;
    if (!vp || !getShouldUseCPURendering()) return;
    const cpu = (vp as unknown as { _cpuFallbackEnabledElement?: CpuEnabledElement })._cpuFallbackEnabledElement;
    const image = cpu?.image;
    const cpuViewport = cpu?.viewport;
    const uid = get().activeSeriesUID;
    const st = uid ? this.stacks.get(uid) : undefined;
    if (!image || !cpuViewport || !st) return;
    const i = index ?? vp.getCurrentImageIdIndex();
    const entry = st.entries[i];
    if (!entry || st.imageIds[i] !== image.imageId) return;
    const inst = st.instances[entry.instanceIndex];
    if (this.awaitLutData(inst)) return;
    let voi = this.imageVoi.get(inst);
    if (!voi) this.imageVoi.set(inst, (voi = imageVoiOf(inst)));
    const display = exactDisplayVoi(voi, this.voiInEffect ?? vp.getProperties().voiRange ?? null);
    const [lo, hi] = modalityBounds(image);
    const key = display ? `${image.imageId}|${lo}|${hi}|${JSON.stringify(display.kind === 'lut' ? [display.lut.firstMapped, display.lut.data.length] : display)}` : '';
    if (key === this.exactVoiKey && (cpuViewport.voiLUT === undefined) === !display) return;
    this.exactVoiKey = key;
    if (!display && cpuViewport.voiLUT === undefined) return;
    cpuViewport.voiLUT = display ? displayLut(lo, hi, display) : undefined;
    if (render) vp.render();
  }

  /**
   * A VOI LUT's data is bulk data in WADO-RS metadata (Orthanc gives a BulkDataURI): fetched once per
   * instance, through the gateway, into the metadata as a Value list; the exact VOI is then applied
   * again. True while it is on its way (a failed fetch leaves the linear window on the LUT's range).
   */
  private lutFetches = new Map<DicomJson, Promise<void>>();
  private awaitLutData(inst: DicomJson): boolean {
    const el = seq(inst, TAG.VOILUTSequence)[0]?.[TAG.LUTData] as { BulkDataURI?: string; Value?: unknown[] } | undefined;
    if (!el?.BulkDataURI || el.Value) return false;
    if (this.lutFetches.has(inst)) return true;
    const url = new URL(el.BulkDataURI, window.location.origin);
    const p = fetch(url.pathname + url.search, { credentials: 'same-origin', headers: { accept: 'multipart/related; type="application/octet-stream"' } })
      .then(async (r) => {
        if (!r.ok) throw new Error(`LUT data: HTTP ${r.status}`);
        el.Value = Array.from(lutWordsOf(firstMultipartPart(new Uint8Array(await r.arrayBuffer()), r.headers.get('content-type') ?? '')));
      })
      .catch(() => {
        delete el.BulkDataURI; // drawn with the linear window over the LUT's range, as before
      })
      .then(() => {
        if (!this.disposed) this.applyExactVoi(undefined, true);
      });
    this.lutFetches.set(inst, p);
    return true;
  }

  private afterFirstPaint(fn: () => void): void {
    requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(fn, 0)));
  }


  private forget(imageId: string): void {
    try {
      cache.removeImageLoadObject(imageId, { force: true });
    } catch {
      /* not cached */
    }
  }

  /** Errors already turned into a Part 10 retry (the loader reports one failure through two events). */
  private handledErrors = new WeakSet<object>();
  /** Images being switched to the Part 10 route; their failure is not reported (yet). */
  private retryPending = new Set<string>();

  private recordImageError(imageId: string, error: unknown): void {
    noteHandledLoadError(error);
    noteHandledLoadError((error as { error?: unknown } | undefined)?.error);
    if (get().imageErrors[imageId] || this.retryPending.has(imageId)) return;
    if (error && typeof error === 'object' && this.handledErrors.has(error)) return;
    // Orthanc cannot serve this instance's frames as stored (see cornerstone.ts): fetch it whole.
    if (statusOf(error) === 500 && imageId.startsWith('wadors:') && markPart10(imageId)) {
      if (error && typeof error === 'object') this.handledErrors.add(error);
      this.retryPending.add(imageId);
      this.forget(imageId);
      void this.switchToPart10(imageId);
      return;
    }
    const msg = describeImageError(error);
    set((s) => ({ imageErrors: { ...s.imageErrors, [imageId]: msg } }));
    this.noteIfCached();
    for (const [uid, st] of this.stacks) {
      if (st.imageIds.includes(imageId)) {
        const failed = st.imageIds.filter((id) => get().imageErrors[id]).length;
        patchSeries(uid, { failedImages: failed });
      }
    }
    // A failed load never emits STACK_NEW_IMAGE: follow the viewport's target so the message shows on that slice.
    const vp = this.viewport;
    if (vp && get().imageIds[vp.getTargetImageIdIndex()] === imageId) set({ imageIndex: vp.getTargetImageIdIndex() });
  }

  private syncView(): void {
    const vp = this.viewport;
    if (!vp) return;
    const p = vp.getProperties();
    const voi = p.voiRange ? { lower: p.voiRange.lower, upper: p.voiRange.upper } : null;
    const zoom = vp.getZoom();
    const s = get();
    if (s.voi?.lower !== voi?.lower || s.voi?.upper !== voi?.upper || s.invert !== !!p.invert || Math.abs(s.zoom - zoom) > 1e-6) {
      set({ voi, invert: !!p.invert, zoom });
    }
    this.syncGeometry(zoom);
  }

  /** Scale and orientation for the overlay (viewGeometry.ts), recomputed only when their key changes. */
  private geometryKey = '';
  private syncGeometry(zoom: number): void {
    const vp = this.viewport;
    const s = get();
    const entry = s.entries[s.imageIndex];
    if (!vp || !entry) return;
    const view = readViewGeometry(vp, entry);
    if (!view) return;
    const key = viewGeometryKey(s.activeSeriesUID, entry, zoom, view);
    if (key === this.geometryKey) return;
    this.geometryKey = key;
    const orientation = markersOf(entry, view);
    if (s.mmPerPx !== view.mmPerPx || !sameMarkers(s.orientation, orientation)) set({ mmPerPx: view.mmPerPx, orientation });
  }

  async open(): Promise<void> {
    performance.mark('rs:open');
    let seriesJson: DicomJson[];
    try {
      seriesJson = await takePrefetched(`series:${this.studyUID}`, () => searchSeries(this.studyUID));
    } catch (e) {
      if (!this.disposed) set({ loading: false, studyError: e instanceof DicomWebError ? studyMessage(e) : 'This study could not be loaded.' });
      return;
    }
    if (this.disposed) return;
    this.seriesJson = seriesJson;
    let series = seriesFromQido(seriesJson);
    if (!series.length && seriesJson.length) {
      // Nothing the series list calls an image: a series labelled by an SR stored first in it may
      // still hold images (the instance-level query says).
      try {
        series = imageSeriesHiddenByModality(seriesJson, await searchInstances(this.studyUID));
      } catch {
        /* the message below stands */
      }
      if (this.disposed) return;
    }
    if (!series.length) {
      set({ loading: false, studyError: 'This study has no images to display (only reports or other non-image objects).' });
      return;
    }
    set({ series });
    // The first series that has images: one holding result objects only (a parametric map the PACS
    // lists under modality OT) has no stack of its own and is passed over. Its metadata stays cached.
    let first = series[0].seriesInstanceUID;
    for (const s of series) {
      try {
        if ((await this.loadSeries(s.seriesInstanceUID)).imageIds.length) {
          first = s.seriesInstanceUID;
          break;
        }
      } catch {
        break; // showSeries says why
      }
      if (this.disposed) return;
    }
    await this.showSeries(first);
    set({ loading: false });
  }

  /**
   * A series' stack in display order, of this study or (for a viewport of a 1×2 or 2×2 layout) of
   * another study of the patient, a prior; loaded once.
   */
  loadStack(studyUID: string, uid: string): Promise<LoadedSeries> {
    return studyUID === this.studyUID ? this.loadSeries(uid) : this.loadSeries(uid, studyUID);
  }

  /** The rendering engine, for the further viewports of a layout. */
  get engine() {
    return this.handle?.engine ?? null;
  }

  private otherStacks = new Map<string, LoadedSeries>();
  private async loadSeries(uid: string, studyUID = this.studyUID): Promise<LoadedSeries> {
    const own = studyUID === this.studyUID;
    const cached = own ? this.stacks.get(uid) : this.otherStacks.get(uid);
    if (cached) return cached;
    const instances = own ? await takePrefetched(`metadata:${studyUID}/${uid}`, () => retrieveSeriesMetadata(studyUID, uid)) : await retrieveSeriesMetadata(studyUID, uid);
    const built = buildStack(instances);
    const imageIds = built.entries.map((e) => wadorsImageId(framePath(studyUID, e)));
    built.entries.forEach((e, i) => {
      // Multi-frame metadata is registered once, on frame 1; the loader derives the other frames from it.
      if (e.frameNumber === 1) wadors.metaDataManager.add(imageIds[i], withDisplayDefaults(instances[e.instanceIndex]) as never);
    });
    const first = instances[0];
    if (!own) {
      const other = { entries: built.entries, imageIds, instances };
      this.otherStacks.set(uid, other);
      return other;
    }
    if (first && !get().patientName) {
      set({ ...studyFieldsOf(first), studyDescription: str(first, TAG.StudyDescription) ?? '' });
    }
    const loaded = { entries: built.entries, imageIds, instances };
    this.stacks.set(uid, loaded);
    return loaded;
  }

  async showSeries(uid: string, index = 0): Promise<void> {
    const vp = this.viewport;
    if (!vp) return;
    const token = ++this.showToken;
    this.stopCine();
    patchSeries(uid, { status: 'loading', error: undefined });
    set({ activeSeriesUID: uid });
    let st: LoadedSeries;
    try {
      st = await this.loadSeries(uid);
    } catch (e) {
      if (this.disposed || token !== this.showToken) return;
      const msg = e instanceof DicomWebError ? e.message : 'This series could not be loaded.';
      patchSeries(uid, { status: 'error', error: msg });
      set({ entries: [], imageIds: [], imageIndex: 0 });
      if (e instanceof DicomWebError && e.status === 404) void this.checkStudyStillThere();
      return;
    }
    if (this.disposed || token !== this.showToken) return;
    if (!st.imageIds.length) {
      patchSeries(uid, { status: 'error', error: 'This series has no images.' });
      return;
    }
    const i = Math.max(0, Math.min(index, st.imageIds.length - 1));
    performance.mark('rs:set-stack');
    set({ entries: st.entries, imageIds: st.imageIds, imageIndex: i, loadedCount: st.imageIds.filter((x) => this.loaded.has(x)).length });
    // On the WebGL path a failed image does not reject setStack (only IMAGE_LOAD_ERROR says so);
    // on the CPU path it does. Both end up in recordImageError.
    // A new stack starts from its own default window, not the previous series' one.
    this.voiInEffect = null;
    try {
      await vp.setStack(st.imageIds, i);
    } catch (e) {
      this.recordImageError(st.imageIds[i], e);
    }
    if (this.disposed || token !== this.showToken) return;
    this.applyInitialVoi(st);
    this.initialRange = vp.getProperties().voiRange ?? null;
    patchSeries(uid, { status: 'ready' });
    if (this.firstMarked) this.enablePrefetch();
  }

  /**
   * Re-points every frame of the instance behind `imageId` at a browser-side copy of the Part 10
   * file, then redisplays the current image if it was one of them (keeping window, zoom and pan).
   */
  private async switchToPart10(imageId: string): Promise<void> {
    const key = instanceKey(imageId);
    const entry = [...this.stacks.entries()].find(([, st]) => st.imageIds.some((id) => instanceKey(id) === key));
    if (!entry) return;
    const [seriesUID, st] = entry;
    const affected = st.imageIds.map((id, i) => (instanceKey(id) === key ? i : -1)).filter((i) => i >= 0);
    let fileId: string;
    try {
      fileId = await loadInstanceAsFile(key.slice('wadors:'.length));
    } catch (e) {
      for (const i of affected) this.retryPending.delete(st.imageIds[i]);
      this.recordImageError(imageId, e);
      return;
    }
    if (this.disposed) return;
    for (const i of affected) {
      this.retryPending.delete(st.imageIds[i]);
      const e = st.entries[i];
      st.imageIds[i] = e.numberOfFrames > 1 ? `${fileId}?frame=${e.frameNumber}` : fileId;
    }
    st.imageIds = [...st.imageIds];
    const vp = this.viewport;
    if (!vp || get().activeSeriesUID !== seriesUID) return;
    const idx = vp.getTargetImageIdIndex();
    set({ imageIds: st.imageIds });
    // Window and polarity only: the CPU path always reports a VOI LUT Function (LINEAR) and throws
    // when one is set back ("VOI LUT function is not supported in CPU rendering").
    const { voiRange, invert } = vp.getProperties();
    const camera = vp.getCamera();
    const wasShown = get().firstImageShown && !affected.includes(idx);
    this.voiInEffect = null;
    try {
      await vp.setStack(st.imageIds, idx);
      if (wasShown) {
        vp.setProperties({ voiRange, invert });
        vp.setCamera(camera);
      } else {
        this.applyInitialVoi(st);
      }
      vp.render();
    } catch (e) {
      this.recordImageError(st.imageIds[idx], e);
    }
  }

  /** After a 404 on a series: is the whole study gone? Then say so instead of a per-series error. */
  private async checkStudyStillThere(): Promise<void> {
    try {
      await searchSeries(this.studyUID);
    } catch (e) {
      if (!this.disposed && e instanceof DicomWebError && e.status === 404) set({ studyError: studyMessage(e) });
    }
  }

  /** Only where Cornerstone's own choice (header window or pixel range) is not the rule we want. */
  private applyInitialVoi(st: LoadedSeries): void {
    const vp = this.viewport;
    const entry = st.entries[0];
    if (!vp || !entry) return;
    const inst = st.instances[entry.instanceIndex];
    const frameVoi = seq(seq(inst, TAG.SharedFunctionalGroupsSequence)[0], '00289132')[0];
    const choice = initialVoi({
      modality: str(inst, TAG.Modality),
      windowCenter: nums(inst, TAG.WindowCenter) ?? nums(frameVoi, TAG.WindowCenter),
      windowWidth: nums(inst, TAG.WindowWidth) ?? nums(frameVoi, TAG.WindowWidth),
      voiLutDescriptor: voiLutDescriptorOf(inst),
    });
    if (choice.range && (choice.source === 'modality-default' || choice.source === 'voi-lut' || (choice.source === 'window' && !nums(inst, TAG.WindowCenter)))) {
      vp.setProperties({ voiRange: choice.range });
      vp.render();
    }
  }

  /**
   * Queues every not-yet-loaded image of the active stack, nearest to the current slice first, at
   * prefetch priority (interaction requests still jump the queue). Our own rather than tools'
   * stackPrefetch: its request promises leak unhandled rejections for images that fail.
   */
  private prefetchToken = 0;
  private enablePrefetch(): void {
    const token = ++this.prefetchToken;
    const { imageIds, imageIndex } = get();
    const order = imageIds
      .map((id, i) => ({ id, d: Math.abs(i - imageIndex) + (i < imageIndex ? 0.5 : 0) }))
      .sort((a, b) => a.d - b.d)
      .map((x) => x.id)
      .filter((id) => !cache.isLoaded(id) && !get().imageErrors[id]);
    for (const id of order) {
      imageLoadPoolManager.addRequest(
        () => {
          if (token !== this.prefetchToken || this.disposed || cache.isLoaded(id)) return Promise.resolve();
          return imageLoader.loadAndCacheImage(id, { requestType: Enums.RequestType.Prefetch } as never).then(
            () => undefined,
            (e: unknown) => this.recordImageError(id, e),
          );
        },
        Enums.RequestType.Prefetch,
        { imageId: id },
        0,
      );
    }
  }

  private startDeferredWork(): void {
    if (this.disposed) return;
    this.enablePrefetch();
    void this.loadThumbnails();
  }

  private async loadThumbnails(): Promise<void> {
    let inst: DicomJson[];
    try {
      inst = await searchInstances(this.studyUID);
    } catch {
      return;
    }
    if (this.disposed) return;
    const bySeries = new Map<string, DicomJson[]>();
    const resultOnly = new Map<string, boolean>();
    for (const i of inst) {
      const s = str(i, TAG.SeriesInstanceUID) ?? '';
      const cls = str(i, TAG.SOPClassUID);
      const image = !cls || isImageSopClass(cls);
      resultOnly.set(s, (resultOnly.get(s) ?? true) && !image);
      if (!image) continue; // a thumbnail of an SR in the series would not draw
      bySeries.set(s, [...(bySeries.get(s) ?? []), i]);
    }
    // A series of result objects only (a parametric map under modality OT, an SR the PACS calls OT) is
    // not an image series: the result objects panel shows it, over the series it refers to.
    const isResultSeries = (uid: string) => resultOnly.get(uid) === true && uid !== get().activeSeriesUID;
    if ([...resultOnly.keys()].some(isResultSeries)) set((s) => ({ series: s.series.filter((x) => !isResultSeries(x.seriesInstanceUID)) }));
    const counts = framesPerSeries(inst);
    const known = new Set(get().series.map((x) => x.seriesInstanceUID));
    const hidden = imageSeriesHiddenByModality(this.seriesJson, inst).filter((x) => !known.has(x.seriesInstanceUID));
    if (hidden.length) set((s) => ({ series: [...s.series, ...hidden].sort(compareSeries) }));
    set((s) => ({
      series: s.series.map((x) => {
        const list = (bySeries.get(x.seriesInstanceUID) ?? []).sort((a, b) => (num(a, TAG.InstanceNumber) ?? 0) - (num(b, TAG.InstanceNumber) ?? 0));
        const mid = list[Math.floor(list.length / 2)];
        const c = counts.get(x.seriesInstanceUID);
        const withCount = c ? { ...x, frameCount: c.frames } : x;
        return mid ? { ...withCount, thumbnailSop: str(mid, TAG.SOPInstanceUID) } : withCount;
      }),
    }));
  }

  scrollTo(index: number): Promise<void> {
    const vp = this.viewport;
    const n = get().imageIds.length;
    if (!vp || !n) return Promise.resolve();
    const i = Math.max(0, Math.min(n - 1, index));
    set({ imageIndex: i });
    return vp.setImageIdIndex(i).then(
      () => {
        // Still the slice asked for (a later step did not overtake it): draw it now, not next frame.
        if (!this.disposed && get().imageIndex === i) renderStepNow(vp);
      },
      () => undefined, // recorded by the IMAGE_LOAD_ERROR listener
    );
  }

  scrollBy(delta: number): Promise<void> {
    const vp = this.viewport;
    const current = vp ? vp.getTargetImageIdIndex() : get().imageIndex;
    return this.scrollTo(current + delta);
  }

  /** Cine of viewport 0 (cine.ts); its state is the store's cineOn, which the overlay reads. */
  private cine = new CineLoop(
    () => this.scrollTo(nextCineIndex(get().imageIndex, get().imageIds.length)),
    () => get().cineFps,
    (on) => set({ cineOn: on }),
  );
  toggleCine(): void {
    if (this.cine.playing) return this.stopCine();
    if (get().imageIds.length < 2 || this.disposed) return;
    this.cine.start();
  }

  stopCine(): void {
    this.cine.stop();
  }

  /** The next or previous of the cine frame rates (one rate for every viewport). */
  cineRate(direction: 1 | -1): void {
    set({ cineFps: nextCineFps(get().cineFps, direction) });
  }

  setPreset(id: PresetId): void {
    this.setPresetSlot((Object.keys(WINDOW_PRESETS) as PresetId[]).indexOf(id));
  }

  /** The active modality's preset in this slot (keys 1–5): CT's in HU, MR's and XR's from the image. */
  setPresetSlot(slot: number): void {
    const vp = this.viewport;
    const preset = presetsFor(this.activeModality())[slot];
    if (!vp || !preset) return;
    const image = (vp as unknown as { getCornerstoneImage?: () => CpuEnabledElement['image'] }).getCornerstoneImage?.();
    const [min, max] = image ? modalityBounds(image) : [0, 0];
    const range = preset.range({ initial: this.initialRange, min, max });
    if (range) this.setVoi(range);
  }

  activeModality(): string | undefined {
    const s = get();
    const st = s.activeSeriesUID ? this.stacks.get(s.activeSeriesUID) : undefined;
    const entry = s.entries[s.imageIndex];
    const inst = st && entry ? st.instances[entry.instanceIndex] : undefined;
    return str(inst, TAG.Modality) ?? s.series.find((x) => x.seriesInstanceUID === s.activeSeriesUID)?.modality;
  }

  setVoi(range: VoiRange): void {
    const vp = this.viewport;
    if (!vp) return;
    vp.setProperties({ voiRange: range });
    vp.render();
    this.syncView();
  }

  toggleInvert(): void {
    const vp = this.viewport;
    if (!vp) return;
    vp.setProperties({ invert: !vp.getProperties().invert });
    vp.render();
    this.syncView();
  }

  zoomBy(factor: number): void {
    const vp = this.viewport;
    if (!vp) return;
    vp.setZoom(vp.getZoom() * factor);
    vp.render();
    this.syncView();
  }

  reset(): void {
    const vp = this.viewport;
    if (!vp) return;
    this.voiInEffect = null;
    vp.resetProperties();
    vp.resetCamera();
    const st = get().activeSeriesUID ? this.stacks.get(get().activeSeriesUID!) : undefined;
    if (st) this.applyInitialVoi(st);
    vp.render();
    this.syncView();
  }

  setLeftTool(tool: LeftTool): void {
    this.handle?.setLeftTool(tool);
    set({ leftTool: tool });
  }

  resize(): void {
    this.handle?.engine.resize(true, true);
  }

  /** The image id of a stored frame in a loaded series, if that series is loaded. */
  imageIdOf(seriesUID: string, sopUID: string, frame: number): string | undefined {
    const st = this.stacks.get(seriesUID);
    const i = st?.entries.findIndex((e) => e.sopInstanceUID === sopUID && e.frameNumber === frame) ?? -1;
    return i >= 0 ? st!.imageIds[i] : undefined;
  }

  /** Which frame an image id shows (any loaded series). */
  entryOf(imageId: string): StackEntry | undefined {
    for (const st of this.stacks.values()) {
      const i = st.imageIds.indexOf(imageId);
      if (i >= 0) return st.entries[i];
    }
    return undefined;
  }

  /** A loaded stack of the open study (or of a prior shown beside it). */
  loadedStack(uid: string): LoadedSeries | undefined {
    return this.stacks.get(uid) ?? this.otherStacks.get(uid);
  }

  /** Series whose stacks are loaded. */
  loadedSeries(): string[] {
    return [...this.stacks.keys()];
  }

  get viewportId(): string {
    return this.handle?.viewportId ?? '';
  }

  testState() {
    const s = get();
    const vp = this.viewport;
    const cam = vp?.getCamera();
    return {
      imageIndex: s.imageIndex,
      imageCount: s.imageIds.length,
      seriesUID: s.activeSeriesUID,
      voi: s.voi ? { lower: s.voi.lower, upper: s.voi.upper } : null,
      camera: cam ? { parallelScale: cam.parallelScale, focalPoint: cam.focalPoint, position: cam.position } : null,
      activeSopInstanceUID: s.entries[s.imageIndex]?.sopInstanceUID ?? null,
      frameNumber: s.entries[s.imageIndex]?.frameNumber ?? null,
      invert: s.invert,
      zoom: s.zoom,
      mmPerPx: s.mmPerPx,
      cineOn: s.cineOn,
      cineFps: s.cineFps,
      loadedCount: s.loadedCount,
      firstImageShown: s.firstImageShown,
      imageError: s.imageErrors[s.imageIds[s.imageIndex]] ?? null,
    };
  }

  dispose(): void {
    this.disposed = true;
    this.stopCine();
    forgetStudyFrames(this.studyUID);
    for (const c of this.cleanups.splice(0)) c();
    this.prefetchToken++;
    imageLoadPoolManager.clearRequestStack(Enums.RequestType.Prefetch);
    this.handle?.destroy();
    this.handle = null;
  }
}

/**
 * Cornerstone's metadata provider calls `modality.includes(...)` and throws on instances without a
 * Modality (Type 1, yet absent in some secondary captures): give those 'OT' (other) for display.
 */
function withDisplayDefaults(inst: DicomJson): DicomJson {
  let out = inst;
  if (!str(inst, TAG.Modality)) out = { ...out, [TAG.Modality]: { vr: 'CS', Value: ['OT'] } };
  // On the CPU path Cornerstone throws on a VOI LUT Function ("not supported in CPU rendering") and
  // would take LINEAR_EXACT's window in another convention: it sees a plain window, and the viewer
  // applies the function exactly itself (applyExactVoi).
  if (getShouldUseCPURendering() && out[TAG.VOILUTFunction]) {
    out = { ...out };
    delete out[TAG.VOILUTFunction];
  }
  return out;
}

/** The parts of Cornerstone's CPU-rendering state the exact VOI uses (not in its public types). */
interface CpuEnabledElement {
  image?: { imageId: string; minPixelValue: number; maxPixelValue: number; slope?: number; intercept?: number; isPreScaled?: boolean };
  viewport?: { voiLUT?: { firstValueMapped: number; lut: number[] } };
}

function studyMessage(e: DicomWebError): string {
  if (e.status === 404) return 'This study is no longer on the PACS: it was not found (it may have been deleted or moved). Go back to the worklist and refresh.';
  return e.message;
}
