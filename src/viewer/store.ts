/** Viewer state (zustand): what React renders; Cornerstone owns the pixels. */
import { create } from 'zustand';
import type { VoiRange } from '../core/imaging/voi';
import type { StackEntry } from '../core/imaging/stack';
import type { OrientationMarkers } from '../core/imaging/orientation';
import type { LeftTool } from './cornerstone';

export interface SeriesInfo {
  seriesInstanceUID: string;
  description: string;
  modality: string;
  seriesNumber?: number;
  instanceCount: number;
  /** Frames of its image instances (multi-frame instances count each frame), once known. */
  frameCount?: number;
  /** A representative instance for the thumbnail, once known. */
  thumbnailSop?: string;
  status: 'idle' | 'loading' | 'ready' | 'error';
  error?: string;
  /** Images in this series that failed to load or decode. */
  failedImages: number;
}

export interface ViewerState {
  studyUID: string;
  patientName: string;
  patientId: string;
  studyDescription: string;
  /** "45 y F": age (Patient's Age, else from birth and study dates) and sex. */
  patientAgeSex: string;
  /** Study date, YYYY-MM-DD. */
  studyDate: string;
  accession: string;
  series: SeriesInfo[];
  activeSeriesUID: string | null;
  entries: StackEntry[];
  imageIds: string[];
  imageIndex: number;
  voi: VoiRange | null;
  invert: boolean;
  zoom: number;
  /** Millimetres per screen (CSS) pixel at the current zoom; null when the image has no Pixel Spacing. */
  mmPerPx: number | null;
  /** Orientation markers at the image's edges (from Image Orientation (Patient)); null when unknown. */
  orientation: OrientationMarkers | null;
  /** Error for the whole study (not found, PACS down): replaces the viewport. */
  studyError: string | null;
  /** Per image id: why it could not be shown. */
  imageErrors: Record<string, string>;
  loading: boolean;
  firstImageShown: boolean;
  loadedCount: number;
  helpOpen: boolean;
  leftTool: LeftTool;
  /** Why the last measurement change was not stored (signed off, refused), shown to the reader; null when all is saved. */
  measureMessage: string | null;
  /** Marking a finding the AI missed: the next box drawn opens the type menu. */
  markingMissed: boolean;
  /** Cine: playing, and its frame rate (frames per second). */
  cineOn: boolean;
  cineFps: number;
}

export const initialViewerState = (studyUID: string): ViewerState => ({
  studyUID,
  patientName: '',
  patientId: '',
  studyDescription: '',
  patientAgeSex: '',
  studyDate: '',
  accession: '',
  series: [],
  activeSeriesUID: null,
  entries: [],
  imageIds: [],
  imageIndex: 0,
  voi: null,
  invert: false,
  zoom: 1,
  mmPerPx: null,
  orientation: null,
  studyError: null,
  imageErrors: {},
  loading: true,
  firstImageShown: false,
  loadedCount: 0,
  helpOpen: false,
  leftTool: 'windowLevel',
  measureMessage: null,
  markingMissed: false,
  cineOn: false,
  cineFps: 10,
});

export const useViewerStore = create<ViewerState>(() => initialViewerState(''));

export function patchSeries(uid: string, patch: Partial<SeriesInfo>): void {
  useViewerStore.setState((s) => ({ series: s.series.map((x) => (x.seriesInstanceUID === uid ? { ...x, ...patch } : x)) }));
}
