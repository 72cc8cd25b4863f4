/**
 * Findings state for the open study (zustand): what the overlay, sidebar and toolbar render.
 * Server findings come from the gateway; SR findings are read from the study's TID 1500 SRs and
 * shown read-only (they are someone else's document, not ours to give verdicts on).
 */
import { create } from 'zustand';
import { compareFindings, type Finding } from '../core/findings/finding';

export interface FindingsState {
  studyUID: string | null;
  findings: Finding[];
  /** Findings read from SR instances of the study (source 'sr'); not verdict-able here. */
  srFindings: Finding[];
  srWarnings: string[];
  signoff: { signedBy: string; signedAt: string } | null;
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

export const initialFindingsState = (): FindingsState => ({
  studyUID: null,
  findings: [],
  srFindings: [],
  srWarnings: [],
  signoff: null,
  selectedId: null,
  overlaysVisible: true,
  heatmapsVisible: true,
  heatmapOpacity: 0.45,
  loading: false,
  error: null,
  actionError: null,
  undoStack: [],
  lastAction: null,
});

export const useFindingsStore = create<FindingsState>(() => initialFindingsState());

/** All findings in sidebar order (severity, then confidence). */
export function sortedFindings(s: Pick<FindingsState, 'findings' | 'srFindings'>): Finding[] {
  return [...s.findings, ...s.srFindings].sort(compareFindings);
}

export function findById(s: Pick<FindingsState, 'findings' | 'srFindings'>, id: string | null): Finding | undefined {
  if (!id) return undefined;
  return s.findings.find((f) => f.id === id) ?? s.srFindings.find((f) => f.id === id);
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
