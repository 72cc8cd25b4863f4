/**
 * How capabilities plug into the viewer without the viewer knowing them (in the manner of OHIF
 * extensions): findings (overlay + side panel), AI (status area), trust (study AI switch) each
 * register components here; the viewer renders them in its slots with the context below.
 */
import type { ComponentType } from 'react';

/** What every extension component receives from the viewer. */
export interface ViewerContext {
  studyInstanceUID: string;
  /** Series currently in the viewport, and its image ids in display (anatomical) order. */
  activeSeriesUID: string | null;
  imageIds: string[];
  /** SOP Instance UID + frame (1-based) for each image id, same order as imageIds. */
  imageRefs: { sopInstanceUID: string; frameNumber?: number; seriesInstanceUID: string }[];
  /** Current index into imageIds. */
  imageIndex: number;
  /** The Cornerstone3D rendering engine id and viewport id of the main stack viewport. */
  renderingEngineId: string;
  viewportId: string;
  /** The DOM element the viewport renders into (overlays position themselves over it). */
  element: HTMLDivElement | null;
  /** Switch the viewport to a series (returns when its stack is set). */
  showSeries(seriesInstanceUID: string): Promise<void>;
  /** Jump to an image of the active series. */
  scrollToIndex(index: number): Promise<void>;
  /**
   * Layouts (1×2, 2×2): which viewport this context is for (0 is the main one), whether it is the
   * active one (outlined; the keyboard acts on it; Panels and Toolbar always get the active one's
   * context), and the study it shows: `studyInstanceUID` stays the open study, while a viewport
   * comparing with a prior shows another study of the patient (its images then match none of the
   * open study's objects).
   */
  viewportIndex?: number;
  active?: boolean;
  displayedStudyUID?: string;
}

export interface ViewerExtension {
  id: string;
  /** Drawn over the viewport element, pointer-events none except where it needs them. */
  Overlay?: ComponentType<{ ctx: ViewerContext }>;
  /** A panel in the right-hand sidebar. */
  Panel?: ComponentType<{ ctx: ViewerContext }>;
  /** An item in the toolbar / status area. */
  Toolbar?: ComponentType<{ ctx: ViewerContext }>;
  /** Runs a command the viewer does not know (ids defined by the extension through defineCommands). */
  runCommand?: (command: string, ctx: ViewerContext) => boolean;
}

const extensions: ViewerExtension[] = [];

export function registerViewerExtension(ext: ViewerExtension): void {
  if (!extensions.some((e) => e.id === ext.id)) extensions.push(ext);
}

export function viewerExtensions(): readonly ViewerExtension[] {
  return extensions;
}
