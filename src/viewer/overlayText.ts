/**
 * What the image's corners say. One rule for the painted corners and for the text a screen reader
 * (or a test) reads, so the two cannot disagree.
 */
import { formatWindow } from '../core/imaging/voi';
import type { SeriesInfo, ViewerState } from './store';

export type CornerState = Pick<ViewerState, 'patientName' | 'imageIndex' | 'imageIds' | 'entries' | 'voi' | 'invert' | 'zoom'>;

export interface CornerText {
  /** Patient and series: fixed while a series is read. */
  tl: string[];
  /** Zoom. */
  tr: string[];
  /** Slice (and frame) number. */
  bl: string[];
  /** Window and polarity. */
  br: string[];
}

export function seriesLine(active: SeriesInfo | undefined): string {
  if (!active) return '';
  const name = active.description || (active.seriesNumber !== undefined ? `Series ${active.seriesNumber}` : '');
  return [active.modality, name].filter(Boolean).join(' · ');
}

export function cornerText(s: CornerState, active: SeriesInfo | undefined): CornerText {
  const entry = s.entries[s.imageIndex];
  const count = s.imageIds.length;
  return {
    tl: [s.patientName, seriesLine(active)],
    tr: [s.zoom ? `Zoom ${s.zoom.toFixed(2)}×` : ''],
    bl: [(count ? `Im ${s.imageIndex + 1} / ${count}` : '') + (entry && entry.numberOfFrames > 1 ? ` · frame ${entry.frameNumber}` : '')],
    br: [(s.voi ? formatWindow(s.voi) : '') + (s.invert ? ' · inverted' : '')],
  };
}
