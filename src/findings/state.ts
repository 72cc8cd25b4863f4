/**
 * Findings state for the open study (zustand): what the overlay, sidebar and toolbar render.
 * Everything comes from the gateway's findings API, which applies the reader policy: the viewer
 * reads no SR itself (the server reads AI SRs when they arrive in the PACS: source 'sr').
 */
import { create } from 'zustand';
import { compareFindings, type Finding } from '../core/findings/finding';

export interface FindingsState {
  studyUID: string | null;
  findings: Finding[];
  /** Conformance warnings of the study's SR documents, as the server read them. */
  srWarnings: string[];
  signoff: SignoffView | null;
  /** AI output that arrived after sign-off: listed apart, never part of the signed record. */
  afterSignoff: Finding[];
  /** Unverified findings a re-read of the same model replaced (kept by the server, listed for the record). */
  superseded: { id: string; label: string; supersededAt: string; supersededBy: string }[];
  /** Sign-off asked while findings are unverified or the AI still reads: the server's lists, waiting for one more key. */
  confirmSignoff: {
    unverified: { id: string; label: string; confidence: number }[];
    aiPending?: { model: string; source: 'pre-read' | 'browser'; state: 'pending' | 'running'; done?: number; total?: number }[];
  } | null;
  selectedId: string | null;
  overlaysVisible: boolean;
  heatmapsVisible: boolean;
  heatmapOpacity: number;
  loading: boolean;
  error: string | null;
  /** The last verdict action's error (409 locked, network): shown in the panel. */
  actionError: string | null;
  /** Ids of findings this session gave verdicts to, most recent last (Ctrl+Z pops). */
  undoStack: string[];
  /** Shown in the panel for a moment after a verdict so keyboard users see what happened. */
  lastAction: string | null;
}

export type OutboxState = 'none' | 'pending' | 'sent' | 'acknowledged' | 'failed';

/** The study's sign-off as the gateway reports it: final, verified SR stored, ORU acknowledged. */
export interface SignoffView {
  signedBy: string;
  signedAt: string;
  unverifiedIds?: string[];
  srState?: OutboxState;
  oruState?: OutboxState;
}

export const initialFindingsState = (): FindingsState => ({
  studyUID: null,
  findings: [],
  srWarnings: [],
  signoff: null,
  afterSignoff: [],
  superseded: [],
  confirmSignoff: null,
  selectedId: null,
  overlaysVisible: true,
  // A heatmap is a finding's explanation, asked for (h, Heatmaps button): the image first, not a colour wash.
  heatmapsVisible: false,
  heatmapOpacity: 0.45,
  loading: false,
  error: null,
  actionError: null,
  undoStack: [],
  lastAction: null,
});

export const useFindingsStore = create<FindingsState>(() => initialFindingsState());

/** All findings in sidebar order (severity, then confidence). */
export function sortedFindings(s: Pick<FindingsState, 'findings'>): Finding[] {
  return [...s.findings].sort(compareFindings);
}

export function findById(s: Pick<FindingsState, 'findings'>, id: string | null): Finding | undefined {
  if (!id) return undefined;
  return s.findings.find((f) => f.id === id);
}

/** Replaces one finding by the server's answer (a modify may change its id: `replaces`). */
export function replaceFinding(next: Finding, replaces?: string): void {
  useFindingsStore.setState((s) => {
    const gone = new Set([next.id, replaces ?? next.id]);
    return {
      findings: [...s.findings.filter((f) => !gone.has(f.id)), next],
      selectedId: s.selectedId && gone.has(s.selectedId) ? next.id : s.selectedId,
    };
  });
}
