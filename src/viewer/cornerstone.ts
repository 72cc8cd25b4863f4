/**
 * Cornerstone3D set-up, done once per page. Everything here is in the lazily loaded viewer chunk,
 * so the log-in page and the worklist never pay for vtk.js and the codecs.
 */
import { init as coreInit, RenderingEngine, Enums, getRenderingCapabilities, imageLoader, setUseCPURendering, type Types } from '@cornerstonejs/core';
import { init as dicomImageLoaderInit, createImage, wadors, wadouri } from '@cornerstonejs/dicom-image-loader';
import {
  init as toolsInit,
  addTool,
  ToolGroupManager,
  StackScrollTool,
  ZoomTool,
  PanTool,
  WindowLevelTool,
  LengthTool,
  AngleTool,
  RectangleROITool,
  EllipticalROITool,
  ProbeTool,
  Enums as ToolEnums,
} from '@cornerstonejs/tools';

import { firstMultipartPart } from '../core/dicomweb/multipart';
import { inflatePart10, inflateRawInBrowser } from '../core/dicomweb/part10';
import { takeFrame } from '../dicomweb/frames';

let initialised = false;

/**
 * Instances whose frames Orthanc cannot hand out in their stored syntax: it answers 500 to
 * `transfer-syntax=*` for explicit VR big endian, deflated explicit VR little endian and for
 * syntaxes newer than it (HTJ2K), and cannot transcode the latter. For those the whole Part 10 instance is fetched once (WADO-RS,
 * application/dicom, stored syntax) and decoded in the browser through the file loader.
 */
const part10Instances = new Set<string>();

export function instanceKey(imageId: string): string {
  const i = imageId.indexOf('/frames/');
  return i >= 0 ? imageId.slice(0, i) : imageId;
}

/** True the first time an instance is switched to the Part 10 route. */
export function markPart10(imageId: string): boolean {
  const k = instanceKey(imageId);
  if (part10Instances.has(k)) return false;
  part10Instances.add(k);
  return true;
}

/** Fetches one instance as Part 10 and returns the file loader's image id prefix (dicomfile:N). */
export async function loadInstanceAsFile(instanceUrl: string): Promise<string> {
  const r = await fetch(instanceUrl, { credentials: 'same-origin', headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
  if (!r.ok) throw Object.assign(new Error(`instance retrieval failed (HTTP ${r.status})`), { status: r.status });
  const part = firstMultipartPart(new Uint8Array(await r.arrayBuffer()), r.headers.get('content-type') ?? '');
  // Deflated Explicit VR Little Endian (Orthanc answers 500 for its frames, the file loader does not
  // inflate it): inflated here into plain Explicit VR Little Endian, with the platform's inflater.
  const file = await inflatePart10(part, inflateRawInBrowser);
  return wadouri.fileManager.add(new Blob([file as BlobPart], { type: 'application/dicom' }));
}

const handledLoadErrors = new WeakSet<object>();
const handledLoadMessages = new Set<string>();

function messageOf(reason: unknown): string | undefined {
  if (typeof reason === 'string') return reason;
  const m = (reason as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m : undefined;
}

/** The viewer calls this for every image failure it has shown to the reader. */
export function noteHandledLoadError(reason: unknown): void {
  if (reason && typeof reason === 'object') handledLoadErrors.add(reason);
  const m = messageOf(reason);
  if (m) handledLoadMessages.add(m);
}

function isHandledLoadError(reason: unknown): boolean {
  if (reason instanceof XMLHttpRequest) return true;
  if (reason && typeof reason === 'object' && handledLoadErrors.has(reason)) return true;
  const m = messageOf(reason);
  return m !== undefined && handledLoadMessages.has(m);
}

/** The parts of Cornerstone's rendering engine that `renderStepNow` uses (not in its public typings). */
interface FrameScheduler {
  _needsRender?: Set<string>;
  _animationFrameHandle?: number | null;
  _renderFlaggedViewports?: () => void;
}

/**
 * Renders the viewports Cornerstone flagged for its next animation frame now, in the task of the input
 * that changed the slice. Cornerstone draws on requestAnimationFrame, so a key press (dispatched at
 * once, unlike wheel events, which Chromium aligns with frames) waited half a frame on average before
 * the new slice was drawn (key → drawn 7.5–8.9 ms in bench:viewer). Drawn in the key's own task, the
 * frame is ready long before the compositor's next deadline instead of racing it. Only for a step
 * whose image is already decoded (the caller's promise resolved); the frame request that Cornerstone
 * made is cancelled, so nothing is drawn twice. An engine without these members (another Cornerstone
 * version) keeps drawing on its frame, as before.
 */
export function renderStepNow(viewport: { getRenderingEngine(): unknown }): void {
  const engine = viewport.getRenderingEngine() as FrameScheduler | undefined;
  if (!engine?._needsRender?.size || typeof engine._renderFlaggedViewports !== 'function') return;
  if (engine._animationFrameHandle != null) cancelAnimationFrame(engine._animationFrameHandle);
  engine._renderFlaggedViewports();
}

export function initCornerstone(): void {
  if (initialised) return;
  initialised = true;
  performance.mark('rs:cs-init-start');
  coreInit();
  performance.mark('rs:cs-core-init');
  // CPU rendering where WebGL is itself drawn by the CPU (SwiftShader, llvmpipe: no GPU; core's init
  // has already looked at the renderer and says so in its capabilities): there the
  // CPU path paints a 512² slice in a few ms where the emulated WebGL path takes ~25 ms, and it skips
  // shader compilation before the first image (shared notes, "Measured floor"). A real GPU keeps
  // WebGL. ?cpu=1 forces CPU rendering (also a fallback where WebGL is broken), ?cpu=0 forces WebGL.
  const cpu = new URLSearchParams(window.location.search).get('cpu');
  if (cpu === '1' || (cpu !== '0' && getRenderingCapabilities().softwareRasterizer)) setUseCPURendering(true);
  // Decoding happens in workers. Two, even on a 2-core machine: the main thread mostly waits while a
  // slice decodes, and two workers brought "all 28 slices decoded" from 4388 to 3989 ms there
  // (bench:viewer, 4 runs each, 16:50); more than two only adds start-up and memory.
  dicomImageLoaderInit({ maxWebWorkers: Math.max(1, Math.min(2, navigator.hardwareConcurrency || 2)) });
  // The loader rejects with the XMLHttpRequest (or the decoder's message) and Cornerstone's request
  // pool and wheel scroll leave some of those promises unobserved. The viewer has already shown each
  // of these failures on the image it concerns (IMAGE_LOAD_ERROR), so they are handled here instead
  // of surfacing as uncaught; anything else still surfaces.
  window.addEventListener('unhandledrejection', (e) => {
    if (isHandledLoadError(e.reason)) e.preventDefault();
  });
  imageLoader.registerImageLoader('wadors', loadWithPrefetch as never);
  toolsInit();
  for (const t of [StackScrollTool, ZoomTool, PanTool, WindowLevelTool, ...MEASUREMENT_TOOL_CLASSES]) addTool(t);
  performance.mark('rs:cs-init-end');
}

/**
 * WADO-RS images: a frame the shell already fetched (dicomweb/frames.ts) is decoded from memory;
 * anything else, or a prefetch that failed (say a 500 for a syntax Orthanc cannot serve as stored),
 * goes through the loader's own network path, with its own error handling.
 */
function loadWithPrefetch(imageId: string, options: Record<string, unknown> = {}): { promise: Promise<unknown>; cancelFn?: () => void } {
  const frame = takeFrame(imageId.slice('wadors:'.length));
  if (!frame) return wadors.loadImage(imageId, options as never) as never;
  const promise = frame.then(
    (f) => createImage(imageId, f.pixelData, f.transferSyntax, options as never),
    () => (wadors.loadImage(imageId, options as never) as { promise: Promise<unknown> }).promise,
  );
  return { promise, cancelFn: undefined };
}

/** The measurement tools (issue 15): Cornerstone3D annotation tools, by the name the store uses. */
export type MeasureTool = 'length' | 'angle' | 'rectangle' | 'ellipse' | 'probe';
const MEASUREMENT_TOOL_CLASSES = [LengthTool, AngleTool, RectangleROITool, EllipticalROITool, ProbeTool];
export const MEASURE_TOOL_NAMES: Record<MeasureTool, string> = {
  length: LengthTool.toolName,
  angle: AngleTool.toolName,
  rectangle: RectangleROITool.toolName,
  ellipse: EllipticalROITool.toolName,
  probe: ProbeTool.toolName,
};
export type LeftTool = 'windowLevel' | 'pan' | 'zoom' | MeasureTool;
const LEFT_TOOLS: Record<LeftTool, string> = {
  windowLevel: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  ...MEASURE_TOOL_NAMES,
};

export interface ViewportHandle {
  engine: RenderingEngine;
  viewport: Types.IStackViewport;
  renderingEngineId: string;
  viewportId: string;
  toolGroupId: string;
  setLeftTool(tool: LeftTool): void;
  destroy(): void;
}

let counter = 0;

/**
 * A viewport's tool group: wheel scrolls, right drag zooms, middle drag pans, and the left button
 * takes the toolbar's tool (window/level, pan, zoom or a measurement). Viewport 0 and the side
 * viewports of a layout get the same one, so a measurement is drawn the same way in any of them.
 * Returns the left-button setter.
 */
function createToolGroup(toolGroupId: string, viewportId: string, renderingEngineId: string): (tool: LeftTool) => void {
  const group = ToolGroupManager.createToolGroup(toolGroupId)!;
  for (const t of [StackScrollTool, PanTool, WindowLevelTool, ...MEASUREMENT_TOOL_CLASSES]) group.addTool(t.toolName);
  // Drag up to zoom in, down to zoom out, as reading-room PACS do (Cornerstone's default is the reverse).
  group.addTool(ZoomTool.toolName, { invert: true });
  group.addViewport(viewportId, renderingEngineId);
  const { MouseBindings } = ToolEnums;
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  const apply = (left: LeftTool) => {
    const primary = { mouseButton: MouseBindings.Primary };
    const secondary = { mouseButton: MouseBindings.Secondary };
    const aux = { mouseButton: MouseBindings.Auxiliary };
    const b: Record<string, { mouseButton: number }[]> = {
      [WindowLevelTool.toolName]: [],
      [PanTool.toolName]: [aux],
      [ZoomTool.toolName]: [secondary],
    };
    for (const name of Object.values(MEASURE_TOOL_NAMES)) b[name] = [];
    b[LEFT_TOOLS[left]].push(primary);
    for (const [name, bindings] of Object.entries(b)) {
      // Passive measurement tools still let the reader select, move and edit what is drawn.
      group.setToolPassive(name, { removeAllBindings: true });
      if (bindings.length) group.setToolActive(name, { bindings });
    }
  };
  apply('windowLevel');
  return apply;
}

export function createStackViewport(element: HTMLDivElement): ViewportHandle {
  initCornerstone();
  const n = ++counter;
  const renderingEngineId = `rs-engine-${n}`;
  const viewportId = `rs-stack-${n}`;
  const toolGroupId = `rs-tools-${n}`;
  const engine = new RenderingEngine(renderingEngineId);
  performance.mark('rs:cs-engine');
  engine.enableElement({ viewportId, type: Enums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] as Types.Point3 } });
  const viewport = engine.getViewport(viewportId) as Types.IStackViewport;
  performance.mark('rs:cs-enabled');

  const setLeftTool = createToolGroup(toolGroupId, viewportId, renderingEngineId);

  return {
    engine,
    viewport,
    renderingEngineId,
    viewportId,
    toolGroupId,
    setLeftTool,
    destroy() {
      ToolGroupManager.destroyToolGroup(toolGroupId);
      engine.destroy();
    },
  };
}

/**
 * A further viewport of a 1×2 or 2×2 layout, in the main viewport's rendering engine, made only when
 * the layout needs it (the single-viewport path does none of this). Its own tool group, the same as
 * viewport 0's (measurements included).
 */
export interface SideViewportHandle {
  viewport: Types.IStackViewport;
  viewportId: string;
  setLeftTool(tool: LeftTool): void;
  destroy(): void;
}

export function createSideViewport(engine: RenderingEngine, element: HTMLDivElement): SideViewportHandle {
  const n = ++counter;
  const viewportId = `rs-stack-${n}`;
  const toolGroupId = `rs-tools-${n}`;
  engine.enableElement({ viewportId, type: Enums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] as Types.Point3 } });
  const viewport = engine.getViewport(viewportId) as Types.IStackViewport;
  const setLeftTool = createToolGroup(toolGroupId, viewportId, engine.id);
  return {
    viewport,
    viewportId,
    setLeftTool,
    destroy() {
      ToolGroupManager.destroyToolGroup(toolGroupId);
      try {
        engine.disableElement(viewportId);
      } catch {
        /* the engine is already gone (page left) */
      }
    },
  };
}
