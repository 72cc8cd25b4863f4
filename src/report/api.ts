/** Talking to the gateway's report API: load, save (debounced by the panel), addendum. */
import { apiFetch, apiJson, ApiError } from '../auth/api';
import type { ReportDraft } from '../core/report/draft';
import { bodyPartsByStudy } from '../core/study/facts';
import type { DicomJson } from '../core/imaging/dicomJson';
import { initialReportState, useReportStore, type Comparison } from './state';

interface ReportResponse {
  report: { draft: ReportDraft; updatedBy: string; updatedAt: string; signedAt: string | null } | null;
  addenda: { id: number; text: string; addedBy: string; addedAt: string }[];
}

function firstValue(ds: Record<string, { Value?: unknown[] }> | undefined, tag: string): string {
  const v = ds?.[tag]?.Value;
  return Array.isArray(v) ? v.map(String).join(',') : '';
}

export async function loadReport(studyUID: string): Promise<void> {
  if (useReportStore.getState().studyUID !== studyUID) useReportStore.setState({ ...initialReportState(), studyUID });
  try {
    const dicomJson = (url: string) =>
      apiFetch(url, { headers: { accept: 'application/dicom+json' } })
        .then(async (res) => (res.ok && res.status !== 204 ? ((await res.json()) as Record<string, { Value?: unknown[] }>[]) : undefined))
        .catch(() => undefined);
    const [r, qido, series] = await Promise.all([
      apiJson<ReportResponse>(`/api/studies/${studyUID}/report`),
      dicomJson(`/dicom-web/studies?StudyInstanceUID=${encodeURIComponent(studyUID)}&includefield=00081030&includefield=00180015&includefield=00080061`).then((x) => x?.[0]),
      // The body part (template choice) from the image series: the study-level one drops out once an AI SR is in the study.
      dicomJson(`/dicom-web/studies/${encodeURIComponent(studyUID)}/series?includefield=0020000D&includefield=00080060&includefield=00180015&includefield=00201209`),
    ]);
    const bodyPart = (series && bodyPartsByStudy(series as DicomJson[]).get(studyUID)) || firstValue(qido, '00180015');
    if (useReportStore.getState().studyUID !== studyUID) return;
    useReportStore.setState({
      draft: useReportStore.getState().dirty ? useReportStore.getState().draft : (r.report?.draft ?? null),
      signedAt: r.report?.signedAt ?? null,
      addenda: r.addenda,
      study: { modalities: firstValue(qido, '00080061').split(',').filter(Boolean), bodyPart, description: firstValue(qido, '00081030') },
      loaded: true,
      error: null,
    });
  } catch (e) {
    if (useReportStore.getState().studyUID !== studyUID) return;
    useReportStore.setState({ loaded: true, error: e instanceof ApiError && e.status === 403 ? null : `The report could not be loaded: ${(e as Error).message}` });
  }
}

export async function saveReport(studyUID: string, draft: ReportDraft): Promise<void> {
  useReportStore.setState({ saving: 'pending' });
  try {
    await apiJson(`/api/studies/${studyUID}/report`, { method: 'PUT', body: JSON.stringify({ draft }) });
    if (useReportStore.getState().draft === draft) useReportStore.setState({ dirty: false });
    useReportStore.setState({ saving: 'saved', error: null });
  } catch (e) {
    useReportStore.setState({ saving: 'error', error: `Draft not saved: ${(e as Error).message}` });
  }
}

export async function addAddendum(studyUID: string, text: string): Promise<boolean> {
  try {
    await apiJson(`/api/studies/${studyUID}/addendum`, { method: 'POST', body: JSON.stringify({ text }) });
    await loadReport(studyUID);
    return true;
  } catch (e) {
    useReportStore.setState({ error: `Addendum not sent: ${(e as Error).message}` });
    return false;
  }
}

/** The priors of the study and the comparison with the most recent relevant one (silently none on failure). */
export async function loadPriors(studyUID: string): Promise<void> {
  try {
    const r = await apiJson<{ priors: unknown[]; comparison: Comparison | null }>(`/api/studies/${studyUID}/priors`);
    if (useReportStore.getState().studyUID !== studyUID) return;
    useReportStore.setState({ comparison: r.comparison, priorsCount: r.priors.length });
  } catch {
    /* no priors shown: the report works without them */
  }
}
