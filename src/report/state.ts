/** The report panel's state (zustand): the draft of the open study, its save state, the signed report's addenda. */
import { create } from 'zustand';
import type { ReportDraft } from '../core/report/draft';

export interface ReportState {
  studyUID: string | null;
  draft: ReportDraft | null;
  /** From the server: the draft became the signed report at this time; it never changes afterwards. */
  signedAt: string | null;
  addenda: { id: number; text: string; addedBy: string; addedAt: string }[];
  /** The study as QIDO describes it, for picking the template. */
  study: { modalities: string[]; bodyPart: string; description: string } | null;
  saving: 'idle' | 'pending' | 'saved' | 'error';
  error: string | null;
  /** The reader changed the draft since the last save. */
  dirty: boolean;
  loaded: boolean;
  /** The most recent relevant prior and the interval change (from /api/studies/:s/priors); null: none or not loaded. */
  comparison: Comparison | null;
  priorsCount: number;
}

export interface Comparison {
  studyUID: string;
  date: string;
  description: string;
  modalities: string[];
  report: string | null;
  /** 'signed': signed here; 'ris': sent by the RIS (ORU^R01) for a study read elsewhere. */
  reportSource?: 'signed' | 'ris' | null;
  signedAt: string | null;
  changes: { kind: string; currentId?: string; priorId?: string; label: string; fromMm?: number; toMm?: number; pct?: number; sentence: string }[];
}

export const initialReportState = (): ReportState => ({
  studyUID: null,
  draft: null,
  signedAt: null,
  addenda: [],
  study: null,
  saving: 'idle',
  error: null,
  dirty: false,
  loaded: false,
  comparison: null,
  priorsCount: 0,
});

export const useReportStore = create<ReportState>(() => initialReportState());

declare global {
  interface Window {
    /** For the e2e tests: the report panel's state (what it drafted from, the template, save state). */
    __report?: { getState(): ReportState };
  }
}
if (typeof window !== 'undefined') window.__report = { getState: () => useReportStore.getState() };
