/**
 * Measurements drawn with Cornerstone3D's annotation tools, kept in step with the study's stored
 * measurements (gateway/measurements): what is stored is drawn again when a series opens (hydrated
 * onto its images), and whatever the reader draws, edits, deletes or undoes is sent once the change
 * settles (PUT with the annotation's UID as the id, DELETE). The server stamps who and when and
 * refuses changes after sign-off; the refusal is shown, and the drawing then follows the record.
 */
import { eventTarget, utilities as csUtils } from '@cornerstonejs/core';
import { annotation as csAnnotation, AnnotationTool, Enums as ToolEnums, LengthTool, AngleTool, RectangleROITool, EllipticalROITool, ProbeTool, utilities as toolUtils } from '@cornerstonejs/tools';
import { apiFetch } from '../auth/api';
import { MEASUREMENT_TOOLS, type Measurement, type MeasurementInput, type MeasurementStats, type MeasurementTool } from '../core/measurements/measurement';
import { refOfImage, viewOfRef, type MeasurementView } from '../viewer/paneRules';
import { notifyMeasurementsChanged } from './changed';

type Annotation = ReturnType<typeof csAnnotation.state.getAllAnnotations>[number];
type Ref = { seriesInstanceUID: string; sopInstanceUID: string; frameNumber?: number };

const CLASSES: Record<MeasurementTool, { toolName: string; hydrate: (viewportId: string, points: number[][], options: Record<string, unknown>) => void }> = {
  length: LengthTool as never,
  angle: AngleTool as never,
  rectangle: RectangleROITool as never,
  ellipse: EllipticalROITool as never,
  probe: ProbeTool as never,
};
const TOOL_OF_NAME = new Map(MEASUREMENT_TOOLS.map((t) => [CLASSES[t].toolName, t]));
const REQUIRED_POINTS: Record<MeasurementTool, number> = { length: 2, angle: 3, rectangle: 4, ellipse: 4, probe: 1 };

/** The figures Cornerstone computed for an annotation, in the stored shape; null until they exist. */
export function statsOf(tool: MeasurementTool, a: Annotation): MeasurementStats | null {
  const cached = Object.values((a.data as { cachedStats?: Record<string, Record<string, unknown>> }).cachedStats ?? {})[0];
  if (!cached) return null;
  const n = (k: string) => (typeof cached[k] === 'number' && Number.isFinite(cached[k] as number) ? (cached[k] as number) : undefined);
  const u = (k: string) => (typeof cached[k] === 'string' ? (cached[k] as string).slice(0, 16) : undefined);
  const out: MeasurementStats = {};
  const put = (k: keyof MeasurementStats, v: number | string | undefined) => {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  };
  switch (tool) {
    case 'length':
      put('length', n('length'));
      put('unit', u('unit'));
      return out.length === undefined ? null : out;
    case 'angle':
      put('angle', n('angle'));
      return out.angle === undefined ? null : out;
    case 'probe':
      put('value', n('value'));
      put('modalityUnit', u('modalityUnit'));
      return out.value === undefined ? null : out;
    default:
      for (const k of ['area', 'mean', 'stdDev', 'min', 'max'] as const) put(k, n(k));
      put('areaUnit', u('areaUnit'));
      put('modalityUnit', u('modalityUnit'));
      return out.mean === undefined ? null : out;
  }
}

const round = (p: readonly number[]) => p.map((x) => Math.round(x * 1e4) / 1e4);
const keyOf = (m: Pick<MeasurementInput, 'tool' | 'sopInstanceUID' | 'frameNumber' | 'points'>) => JSON.stringify([m.tool, m.sopInstanceUID, m.frameNumber, m.points.map(round)]);

export interface MeasurementSyncHost {
  studyUID: string;
  /**
   * Every viewport showing images of the open study, viewport 0 first (a side viewport of a layout
   * too: a measurement drawn there is stored, and stored ones are drawn there, by this one path).
   */
  views: () => MeasurementView[];
  /** Shown to the reader (null clears). */
  message: (text: string | null) => void;
}

export class MeasurementSync {
  private stored = new Map<string, Measurement>();
  /** Per annotation UID: the key (tool, image, points) last sent or loaded. */
  private sent = new Map<string, string>();
  private refs = new Map<string, Ref>();
  private hydrated = new Set<string>();
  private hydrating = false;
  private locked = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private cleanups: (() => void)[] = [];
  private disposed = false;
  private pointerDown = false;
  private chain: Promise<unknown> = Promise.resolve();
  readonly loaded: Promise<void>;

  /** `element` holds every viewport (the layout's grid): a press in any of them is a drawing under way. */
  constructor(private readonly host: MeasurementSyncHost, element: HTMLElement) {
    const E = ToolEnums.Events;
    const on = (t: EventTarget, name: string, fn: (e: Event) => void) => {
      t.addEventListener(name, fn);
      this.cleanups.push(() => t.removeEventListener(name, fn));
    };
    for (const name of [E.ANNOTATION_COMPLETED, E.ANNOTATION_MODIFIED, E.ANNOTATION_REMOVED, E.ANNOTATION_ADDED]) on(eventTarget, name, () => this.schedule());
    // Capture phase: Cornerstone's own handlers must not be able to hide the release from us.
    const down = () => (this.pointerDown = true);
    const up = () => {
      this.pointerDown = false;
      this.schedule();
    };
    element.addEventListener('pointerdown', down, true);
    window.addEventListener('pointerup', up, true);
    window.addEventListener('pointercancel', up, true);
    this.cleanups.push(() => {
      element.removeEventListener('pointerdown', down, true);
      window.removeEventListener('pointerup', up, true);
      window.removeEventListener('pointercancel', up, true);
    });
    this.loaded = this.load();
  }

  get isLocked(): boolean {
    return this.locked;
  }

  private async load(): Promise<void> {
    const r = await apiFetch(`/api/studies/${this.host.studyUID}/measurements`);
    if (!r.ok) {
      this.host.message(r.status === 403 ? null : `Measurements could not be loaded (HTTP ${r.status}).`);
      return;
    }
    const body = (await r.json()) as { measurements: Measurement[]; locked: boolean };
    this.locked = body.locked;
    for (const m of body.measurements) {
      this.stored.set(m.id, m);
      this.sent.set(m.id, keyOf(m));
      this.refs.set(m.id, { seriesInstanceUID: m.seriesInstanceUID, sopInstanceUID: m.sopInstanceUID, frameNumber: m.frameNumber });
    }
    this.hydrateActive();
  }

  /**
   * Draws the stored measurements of the series on screen, in any viewport (once per measurement:
   * Cornerstone then shows it wherever its image is shown).
   */
  hydrateActive(): void {
    const views = this.host.views().filter((v) => v.viewportId && v.imageIds.length);
    if (!views.length) return;
    this.hydrating = true;
    try {
      for (const m of this.stored.values()) {
        if (this.hydrated.has(m.id) || csAnnotation.state.getAnnotation(m.id)) continue;
        const at = viewOfRef(views, m);
        if (!at) continue;
        CLASSES[m.tool].hydrate(at.viewportId, m.points, { referencedImageId: at.imageId, annotationUID: m.id });
        this.hydrated.add(m.id);
        if (this.locked) csAnnotation.locking.setAnnotationLocked(m.id, true);
      }
    } finally {
      this.hydrating = false;
    }
  }

  private schedule(): void {
    if (this.hydrating || this.disposed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reconcile(), 250);
  }

  private refOf(a: Annotation): Ref | undefined {
    const id = (a.metadata as { referencedImageId?: string }).referencedImageId;
    return (id ? refOfImage(this.host.views(), id) : undefined) ?? this.refs.get(a.annotationUID ?? '');
  }

  /** Sends what differs from the record: new and changed measurements, deletions. */
  private reconcile(): Promise<unknown> {
    if (this.pointerDown) return Promise.resolve(); // still drawing or dragging: after the release
    const current = new Map<string, MeasurementInput>();
    for (const a of csAnnotation.state.getAllAnnotations()) {
      const tool = TOOL_OF_NAME.get((a.metadata as { toolName: string }).toolName);
      const uid = a.annotationUID;
      if (!tool || !uid) continue;
      const points = (a.data as { handles?: { points?: number[][] } }).handles?.points ?? [];
      if (points.length < REQUIRED_POINTS[tool]) continue; // being drawn
      const ref = this.refOf(a);
      const stats = statsOf(tool, a);
      if (!ref || !stats) continue;
      this.refs.set(uid, ref);
      current.set(uid, { tool, seriesInstanceUID: ref.seriesInstanceUID, sopInstanceUID: ref.sopInstanceUID, frameNumber: ref.frameNumber ?? 1, points: points.map((p) => [p[0], p[1], p[2]] as [number, number, number]), stats });
    }
    const jobs: (() => Promise<void>)[] = [];
    for (const [uid, m] of current) {
      if (this.sent.get(uid) === keyOf(m)) continue;
      this.sent.set(uid, keyOf(m));
      jobs.push(() => this.put(uid, m));
    }
    for (const uid of [...this.sent.keys()]) {
      if (current.has(uid) || csAnnotation.state.getAnnotation(uid)) continue;
      this.sent.delete(uid);
      jobs.push(() => this.remove(uid));
    }
    this.chain = this.chain.then(async () => {
      for (const j of jobs) await j();
    });
    return this.chain;
  }

  /** Resolves when every change made so far has been answered by the server (tests, sign-off). */
  flush(): Promise<unknown> {
    clearTimeout(this.timer);
    return this.reconcile();
  }

  private async put(uid: string, m: MeasurementInput): Promise<void> {
    const r = await apiFetch(`/api/studies/${this.host.studyUID}/measurements/${encodeURIComponent(uid)}`, { method: 'PUT', body: JSON.stringify(m) });
    if (r.ok) {
      this.stored.set(uid, (await r.json()) as Measurement);
      this.host.message(null);
      notifyMeasurementsChanged(this.host.studyUID);
      return;
    }
    const err = ((await r.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${r.status}`;
    this.host.message(`Measurement not saved: ${err}`);
    this.restoreFromRecord(uid);
  }

  private async remove(uid: string): Promise<void> {
    const r = await apiFetch(`/api/studies/${this.host.studyUID}/measurements/${encodeURIComponent(uid)}`, { method: 'DELETE' });
    if (r.ok || r.status === 404) {
      this.stored.delete(uid);
      this.hydrated.delete(uid);
      notifyMeasurementsChanged(this.host.studyUID);
      return;
    }
    const err = ((await r.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${r.status}`;
    this.host.message(`Measurement not deleted: ${err}`);
    this.restoreFromRecord(uid);
  }

  /** After a refusal the drawing follows the record again: the stored version, or none. */
  private restoreFromRecord(uid: string): void {
    const m = this.stored.get(uid);
    this.hydrating = true;
    try {
      if (csAnnotation.state.getAnnotation(uid)) csAnnotation.state.removeAnnotation(uid);
      this.hydrated.delete(uid);
      if (m) {
        this.sent.set(uid, keyOf(m));
      } else this.sent.delete(uid);
    } finally {
      this.hydrating = false;
    }
    this.hydrateActive();
    this.redraw();
  }

  /** The selected measurements' UIDs. */
  selected(): string[] {
    return csAnnotation.selection.getAnnotationsSelected().filter((u) => {
      const a = csAnnotation.state.getAnnotation(u);
      return !!a && TOOL_OF_NAME.has((a.metadata as { toolName: string }).toolName);
    });
  }

  /** Deletes the selected measurements (undoable). True when there was one. */
  deleteSelected(element: HTMLDivElement): boolean {
    const uids = csAnnotation.selection.getAnnotationsSelected().filter((u) => {
      const a = csAnnotation.state.getAnnotation(u);
      return !!a && TOOL_OF_NAME.has((a.metadata as { toolName: string }).toolName);
    });
    if (!uids.length || this.locked) return false;
    for (const uid of uids) {
      const a = csAnnotation.state.getAnnotation(uid);
      if (!a) continue;
      // A memo first, so Undo brings it back (and the sync then restores it on the server).
      const memo = AnnotationTool.createAnnotationMemo(element, a, { deleting: true });
      csAnnotation.state.removeAnnotation(uid);
      if (memo) csUtils.HistoryMemo.DefaultHistoryMemo.push(memo);
    }
    this.redraw();
    this.schedule();
    return true;
  }

  undo(): void {
    if (this.locked) return;
    csUtils.HistoryMemo.DefaultHistoryMemo.undo();
    this.redraw();
    this.schedule();
  }

  /** Removing an annotation does not redraw the annotation layer by itself (of every viewport it may be in). */
  private redraw(): void {
    const ids = this.host.views().map((v) => v.viewportId).filter(Boolean);
    if (ids.length) toolUtils.triggerAnnotationRenderForViewportIds(ids);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    for (const c of this.cleanups.splice(0)) c();
    this.hydrating = true;
    try {
      for (const uid of [...this.sent.keys(), ...this.hydrated]) if (csAnnotation.state.getAnnotation(uid)) csAnnotation.state.removeAnnotation(uid);
    } finally {
      this.hydrating = false;
    }
  }
}
