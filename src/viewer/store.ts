/** Viewer state (zustand): what React renders; Cornerstone owns the pixels. */
import { create } from 'zustand';
import type { VoiRange } from '../core/imaging/voi';
import type { StackEntry } from '../core/imaging/stack';

export interface SeriesInfo {
  seriesInstanceUID: string;
  description: string;
  modality: string;
  seriesNumber?: number;
  instanceCount: number;
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
  series: SeriesInfo[];
  activeSeriesUID: string | null;
  entries: StackEntry[];
  imageIds: string[];
  imageIndex: number;
  voi: VoiRange | null;
  invert: boolean;
  zoom: number;
  /** Error for the whole study (not found, PACS down): replaces the viewport. */
  studyError: string | null;
  /** Per image id: why it could not be shown. */
  imageErrors: Record<string, string>;
  loading: boolean;
  firstImageShown: boolean;
  loadedCount: number;
  helpOpen: boolean;
  leftTool: 'windowLevel' | 'pan' | 'zoom';
}

export const initialViewerState = (studyUID: string): ViewerState => ({
  studyUID,
  patientName: '',
  patientId: '',
  studyDescription: '',
  series: [],
  activeSeriesUID: null,
  entries: [],
  imageIds: [],
  imageIndex: 0,
  voi: null,
  invert: false,
  zoom: 1,
  studyError: null,
  imageErrors: {},
  loading: true,
  firstImageShown: false,
  loadedCount: 0,
  helpOpen: false,
  leftTool: 'windowLevel',
});

export const useViewerStore = create<ViewerState>(() => initialViewerState(''));

export function patchSeries(uid: string, patch: Partial<SeriesInfo>): void {
  useViewerStore.setState((s) => ({ series: s.series.map((x) => (x.seriesInstanceUID === uid ? { ...x, ...patch } : x)) }));
}
