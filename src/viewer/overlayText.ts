/**
 * What the image's corners say. One rule for the painted corners and for the text a screen reader
 * (or a test) reads, so the two cannot disagree.
 */
import { formatWindow } from '../core/imaging/voi';
import { TAG, formatDicomDate, formatPersonName, num, str, type DicomJson } from '../core/imaging/dicomJson';
import { ageSexOf } from '../worklist/model';
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

/** What names a series in the corner (the series list's entry, or one read from an instance). */
export type SeriesLineInfo = Pick<SeriesInfo, 'description' | 'modality' | 'seriesNumber'>;

/** The fixed corner's patient and study fields of a study: the same words for the open study and a prior. */
export type StudyFields = Pick<ViewerState, 'patientName' | 'patientId' | 'patientAgeSex' | 'studyDate' | 'accession'>;

/** The patient and study fields as the corner prints them, from any instance of the study. */
export function studyFieldsOf(inst: DicomJson | undefined): StudyFields {
  return {
    patientName: formatPersonName(str(inst, TAG.PatientName)),
    patientId: str(inst, TAG.PatientID) ?? '',
    patientAgeSex: inst ? ageSexOf(inst) : '',
    studyDate: formatDicomDate(str(inst, TAG.StudyDate)),
    accession: str(inst, TAG.AccessionNumber) ?? '',
  };
}

/** The series an instance belongs to, for its corner line: a prior's series is in no series list of this study. */
export function seriesOfInstance(inst: DicomJson | undefined): SeriesLineInfo {
  return { description: str(inst, TAG.SeriesDescription) ?? '', modality: str(inst, TAG.Modality) ?? '', seriesNumber: num(inst, TAG.SeriesNumber) };
}

export function seriesLine(active: SeriesLineInfo | undefined): string {
  if (!active) return '';
  const name = active.description || (active.seriesNumber !== undefined ? `Series ${active.seriesNumber}` : '');
  return [active.modality, name].filter(Boolean).join(' · ');
}

/** Millimetres as the overlay prints them: up to two decimals, no trailing zeros. */
export function mm(v: number): string {
  return `${Number(v.toFixed(2))} mm`;
}

/** The fixed corner: name; ID, age and sex; study date and accession; series. */
export function patientLines(s: StudyFields, active: SeriesLineInfo | undefined): string[] {
  return [
    s.patientName,
    [s.patientId, s.patientAgeSex].filter(Boolean).join(' · '),
    [s.studyDate, s.accession ? `Acc ${s.accession}` : ''].filter(Boolean).join(' · '),
    seriesLine(active),
  ];
}

export function cornerText(s: CornerState, active: SeriesLineInfo | undefined): CornerText {
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

/** Everything a viewport's painted corners, markers and scale bar are drawn from. */
export type OverlayState = CornerState & Pick<ViewerState, 'mmPerPx' | 'orientation'>;

/**
 * A viewport's overlay state and a way to hear it changed: the viewer store for viewport 0, a side
 * viewport's own store for the others. The painting subscribes to it (no React render per step).
 */
export interface OverlaySource {
  get(): OverlayState;
  subscribe(onChange: () => void): () => void;
}
