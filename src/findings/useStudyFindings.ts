/**
 * Loads the open study's findings once per study, without a click. Only from the gateway: AI SRs in
 * the PACS are read by the server when they arrive, and come back here through the same reader policy.
 */
import { useEffect } from 'react';
import { initialFindingsState, useFindingsStore } from './state';
import { loadFindings } from './api';

/** How long the viewer keeps asking while the server may still be reading what just arrived. */
const SETTLE_POLLS = [2_000, 5_000, 10_000];

export function useStudyFindings(studyUID: string): void {
  useEffect(() => {
    if (!studyUID || useFindingsStore.getState().studyUID === studyUID) return;
    const keep = useFindingsStore.getState();
    // Display preferences survive a study change; findings, selection and undo do not.
    useFindingsStore.setState({ ...initialFindingsState(), overlaysVisible: keep.overlaysVisible, heatmapsVisible: keep.heatmapsVisible, heatmapOpacity: keep.heatmapOpacity, studyUID });
    void loadFindings(studyUID);
    // A study opened as it arrives: SRs and pre-read results land a moment later on the server.
    const timers = SETTLE_POLLS.map((ms) => setTimeout(() => useFindingsStore.getState().studyUID === studyUID && void loadFindings(studyUID, { quiet: true }), ms));
    return () => timers.forEach(clearTimeout);
  }, [studyUID]);
}
