/** Loads the open study's findings (gateway + SR documents) once per study, without a click. */
import { useEffect } from 'react';
import { initialFindingsState, useFindingsStore } from './state';
import { loadFindings, loadSrFindings } from './api';

export function useStudyFindings(studyUID: string): void {
  useEffect(() => {
    if (!studyUID || useFindingsStore.getState().studyUID === studyUID) return;
    const keep = useFindingsStore.getState();
    // Display preferences survive a study change; findings, selection and undo do not.
    useFindingsStore.setState({ ...initialFindingsState(), overlaysVisible: keep.overlaysVisible, heatmapsVisible: keep.heatmapsVisible, heatmapOpacity: keep.heatmapOpacity, studyUID });
    void loadFindings(studyUID).then(() => loadSrFindings(studyUID));
  }, [studyUID]);
}
