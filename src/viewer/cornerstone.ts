/**
 * Cornerstone3D set-up, done once per page. Everything here is in the lazily loaded viewer chunk,
 * so the log-in page and the worklist never pay for vtk.js and the codecs.
 */
import { init as coreInit, RenderingEngine, Enums, setUseCPURendering, type Types } from '@cornerstonejs/core';
import { init as dicomImageLoaderInit } from '@cornerstonejs/dicom-image-loader';
import {
  init as toolsInit,
  addTool,
  ToolGroupManager,
  StackScrollTool,
  ZoomTool,
  PanTool,
  WindowLevelTool,
  Enums as ToolEnums,
} from '@cornerstonejs/tools';

let initialised = false;

/**
 * Instances Orthanc cannot hand out in their stored syntax (explicit VR big endian answers 500 to
 * `transfer-syntax=*`): their frames are asked for as explicit VR little endian, which Orthanc
 * transcodes. Keyed by instance URI so every frame of the instance follows.
 */
const transcodeToLE = new Set<string>();
const LE_ACCEPT = 'multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1';

export function instanceKey(imageId: string): string {
  const i = imageId.indexOf('/frames/');
  return i >= 0 ? imageId.slice(0, i) : imageId;
}
export function markTranscode(imageId: string): boolean {
  const k = instanceKey(imageId);
  if (transcodeToLE.has(k)) return false;
  transcodeToLE.add(k);
  return true;
}
export function isTranscoded(imageId: string): boolean {
  return transcodeToLE.has(instanceKey(imageId));
}

export function initCornerstone(): void {
  if (initialised) return;
  initialised = true;
  coreInit();
  // CPU rendering on request (?cpu=1): faster on GPU-less boxes, and a fallback where WebGL is broken.
  if (new URLSearchParams(window.location.search).get('cpu') === '1') setUseCPURendering(true);
  // Decoding happens in workers; two keeps one free core on small machines and overlaps fetch/decode.
  dicomImageLoaderInit({
    maxWebWorkers: Math.max(1, Math.min(2, Math.floor((navigator.hardwareConcurrency || 2) / 2))),
    beforeSend: (_xhr, imageId, defaultHeaders) => (isTranscoded(imageId) ? { ...defaultHeaders, Accept: LE_ACCEPT } : undefined),
  });
  // The loader rejects with the XMLHttpRequest itself, and Cornerstone's request pool and wheel
  // scroll leave some of those promises unobserved. The viewer already shows each of these on the
  // image it concerns (IMAGE_LOAD_ERROR), so they are handled here rather than surfacing as uncaught.
  window.addEventListener('unhandledrejection', (e) => {
    const r = e.reason as { status?: unknown; imageId?: unknown } | undefined;
    if (r instanceof XMLHttpRequest || (r && typeof r === 'object' && ('imageId' in r || (r as Error).name === 'ImageLoadError'))) e.preventDefault();
  });
  toolsInit();
  for (const t of [StackScrollTool, ZoomTool, PanTool, WindowLevelTool]) addTool(t);
}

export type LeftTool = 'windowLevel' | 'pan' | 'zoom';
const LEFT_TOOLS: Record<LeftTool, string> = {
  windowLevel: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
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

export function createStackViewport(element: HTMLDivElement): ViewportHandle {
  initCornerstone();
  const n = ++counter;
  const renderingEngineId = `rs-engine-${n}`;
  const viewportId = `rs-stack-${n}`;
  const toolGroupId = `rs-tools-${n}`;
  const engine = new RenderingEngine(renderingEngineId);
  engine.enableElement({ viewportId, type: Enums.ViewportType.STACK, element, defaultOptions: { background: [0, 0, 0] as Types.Point3 } });
  const viewport = engine.getViewport(viewportId) as Types.IStackViewport;

  const group = ToolGroupManager.createToolGroup(toolGroupId)!;
  for (const t of [StackScrollTool, ZoomTool, PanTool, WindowLevelTool]) group.addTool(t.toolName);
  group.addViewport(viewportId, renderingEngineId);
  const { MouseBindings } = ToolEnums;
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  let left: LeftTool = 'windowLevel';
  const applyBindings = () => {
    const primary = { mouseButton: MouseBindings.Primary };
    const secondary = { mouseButton: MouseBindings.Secondary };
    const aux = { mouseButton: MouseBindings.Auxiliary };
    const b: Record<string, { mouseButton: number }[]> = {
      [WindowLevelTool.toolName]: [],
      [PanTool.toolName]: [aux],
      [ZoomTool.toolName]: [secondary],
    };
    b[LEFT_TOOLS[left]].push(primary);
    for (const [name, bindings] of Object.entries(b)) {
      group.setToolPassive(name, { removeAllBindings: true });
      if (bindings.length) group.setToolActive(name, { bindings });
    }
  };
  applyBindings();

  return {
    engine,
    viewport,
    renderingEngineId,
    viewportId,
    toolGroupId,
    setLeftTool(tool) {
      left = tool;
      applyBindings();
    },
    destroy() {
      ToolGroupManager.destroyToolGroup(toolGroupId);
      engine.destroy();
    },
  };
}
