/**
 * What the image's corners say. One rule for the painted corners and for the text a screen reader
 * (or a test) reads, so the two cannot disagree.
 */
import { formatWindow } from '../core/imaging/voi';
import type { SeriesInfo, ViewerState } from './store';

export type CornerState = Pick<ViewerState, 'patientName' | 'patientId' | 'patientAgeSex' | 'studyDate' | 'accession' | 'imageIndex' | 'imageIds' | 'entries' | 'voi' | 'invert' | 'zoom'> & Partial<Pick<ViewerState, 'cineOn' | 'cineFps'>>;

export interface CornerText {
  /** Patient, study and series: fixed while a series is read. */
  tl: string[];
  /** Zoom, and cine with its frame rate while it plays. */
  tr: string[];
  /** Slice (and frame) number, slice location and thickness. */
  bl: string[];
  /** Window and polarity. */
  br: string[];
}

export function seriesLine(active: SeriesInfo | undefined): string {
  if (!active) return '';
  const name = active.description || (active.seriesNumber !== undefined ? `Series ${active.seriesNumber}` : '');
  return [active.modality, name].filter(Boolean).join(' · ');
}

/** Millimetres as the overlay prints them: up to two decimals, no trailing zeros. */
export function mm(v: number): string {
  return `${Number(v.toFixed(2))} mm`;
}

/** The fixed corner: name; ID, age and sex; study date and accession; series. */
export function patientLines(s: Pick<CornerState, 'patientName' | 'patientId' | 'patientAgeSex' | 'studyDate' | 'accession'>, active: SeriesInfo | undefined): string[] {
  return [
    s.patientName,
    [s.patientId, s.patientAgeSex].filter(Boolean).join(' · '),
    [s.studyDate, s.accession ? `Acc ${s.accession}` : ''].filter(Boolean).join(' · '),
    seriesLine(active),
  ];
}

export function cornerText(s: CornerState, active: SeriesInfo | undefined): CornerText {
  const entry = s.entries[s.imageIndex];
  const count = s.imageIds.length;
  const where = [entry?.sliceLocation !== undefined ? `Loc ${mm(entry.sliceLocation)}` : '', entry?.sliceThickness !== undefined ? `Thk ${mm(entry.sliceThickness)}` : ''].filter(Boolean).join(' · ');
  return {
    tl: patientLines(s, active),
    tr: [(s.zoom ? `Zoom ${s.zoom.toFixed(2)}×` : '') + (s.cineOn ? ` · Cine ${s.cineFps} fps` : '')],
    bl: [(count ? `Im ${s.imageIndex + 1} / ${count}` : '') + (entry && entry.numberOfFrames > 1 ? ` · frame ${entry.frameNumber}` : ''), where],
    br: [(s.voi ? formatWindow(s.voi) : '') + (s.invert ? ' · inverted' : '')],
  };
}
