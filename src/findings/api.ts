/** Talking to the gateway's findings API and reading the study's SR documents. */
import { api } from 'dicomweb-client';
import { apiJson, ApiError, getSession } from '../auth/api';
import type { Finding } from '../core/findings/finding';
import { applyVerdict, type VerdictRequest } from '../core/findings/verdict';
import { parseDicomPart10 } from '../core/sr/dicom';
import { readMeasurementReport } from '../core/sr/reader';
import { trackingUidOf } from '../core/sr/writer';
import { findById, replaceFinding, useFindingsStore } from './state';

export async function loadFindings(studyUID: string): Promise<void> {
  useFindingsStore.setState({ loading: true, error: null });
  try {
    const r = await apiJson<{ findings: Finding[]; signoff: { signedBy: string; signedAt: string } | null }>(`/api/studies/${studyUID}/findings`);
    if (useFindingsStore.getState().studyUID !== studyUID) return;
    useFindingsStore.setState({ findings: r.findings, signoff: r.signoff, loading: false });
  } catch (e) {
    useFindingsStore.setState({ loading: false, error: e instanceof ApiError && e.status === 403 ? null : `AI findings could not be loaded: ${(e as Error).message}` });
  }
}

type Json = Record<string, { Value?: unknown[] } | undefined>;
const val = (j: Json, tag: string) => j[tag]?.Value?.[0] as string | undefined;

/**
 * Finds the study's SR series (QIDO, modality SR), retrieves each instance (WADO-RS) and reads it as
 * a TID 1500 measurement report. Non-conformant SRs give warnings, not failures; an SR that cannot
 * be parsed at all becomes one warning naming it.
 */
export async function loadSrFindings(studyUID: string): Promise<void> {
  const client = new api.DICOMwebClient({ url: window.location.origin + '/dicom-web', singlepart: false } as never);
  const warnings: string[] = [];
  const found: Finding[] = [];
  let series: Json[] = [];
  try {
    series = ((await client.searchForSeries({ studyInstanceUID: studyUID, queryParams: { Modality: 'SR' } as never })) as Json[]) ?? [];
  } catch {
    return; // no SR series (or PACS unreachable: the viewer itself reports that)
  }
  for (const s of series) {
    if (val(s, '00080060') !== 'SR') continue;
    const seriesUID = val(s, '0020000E');
    if (!seriesUID) continue;
    const instances = ((await Promise.resolve(client.searchForInstances({ studyInstanceUID: studyUID, seriesInstanceUID: seriesUID })).catch(() => [])) as Json[]) ?? [];
    for (const inst of instances) {
      const sop = val(inst, '00080018');
      if (!sop) continue;
      try {
        const bytes = (await client.retrieveInstance({ studyInstanceUID: studyUID, seriesInstanceUID: seriesUID, sopInstanceUID: sop } as never)) as ArrayBuffer;
        const r = readMeasurementReport(parseDicomPart10(bytes));
        for (const w of r.warnings) warnings.push(`SR ${sop.slice(-12)}: ${w}`);
        for (const f of r.findings) found.push({ ...f, id: `sr:${sop}:${f.id}`.slice(0, 128), source: 'sr' });
      } catch (e) {
        warnings.push(`SR ${sop.slice(-12)} could not be read: ${(e as Error).message}`);
      }
    }
  }
  if (useFindingsStore.getState().studyUID !== studyUID) return;
  const ours = useFindingsStore.getState().findings;
  // Our own SR exports come back from the PACS: show the stored finding, not its copy.
  // The SR writer gives each finding a stable tracking UID (derived from the AI original's id).
  const known = new Set(ours.flatMap((f) => [f.trackingUID, trackingUidOf(f.studyInstanceUID, f.originalId ?? f.id)].filter(Boolean) as string[]));
  const fresh = found.filter((f) => !(f.trackingUID && known.has(f.trackingUID)));
  if (warnings.length) console.warn(`[findings] ${warnings.length} SR conformance warning(s)`, warnings);
  useFindingsStore.setState({ srFindings: fresh, srWarnings: warnings });
}

/**
 * The verdict shows at once (optimistic: the same pure transition the gateway applies), then the
 * server's answer (authoritative user and time) replaces it; a refusal puts the finding back.
 * Undo is not guessed here: only the server knows the state before.
 */
// Verdicts go to the server one at a time, in the order given: an undo pressed while a modify is
// still in flight must undo that modify, not whatever the server had before it.
let verdictQueue: Promise<unknown> = Promise.resolve();

/** Resolves when every verdict sent so far has been answered (or refused). */
export function verdictsSettled(): Promise<void> {
  return verdictQueue.then(() => undefined, () => undefined);
}

export function sendVerdict(id: string, req: VerdictRequest): Promise<Finding | null> {
  const run = verdictQueue.then(() => sendVerdictNow(id, req), () => sendVerdictNow(id, req));
  verdictQueue = run;
  return run;
}

async function sendVerdictNow(id: string, req: VerdictRequest): Promise<Finding | null> {
  useFindingsStore.setState({ actionError: null });
  const before = findById(useFindingsStore.getState(), id);
  const user = getSession().user;
  let shown: Finding | null = null;
  if (before && user && req.action !== 'undo') {
    const r = applyVerdict(before, req, { username: user.username, role: user.role }, new Date().toISOString());
    if (r.ok) {
      shown = r.value;
      replaceFinding(shown, id);
    }
  }
  try {
    const r = await apiJson<{ finding: Finding; replaces?: string }>(`/api/findings/${encodeURIComponent(id)}/verdict`, { method: 'POST', body: JSON.stringify(req) });
    if (shown) replaceFinding(r.finding, shown.id);
    replaceFinding(r.finding, r.replaces);
    useFindingsStore.setState((s) => ({
      undoStack: req.action === 'undo' ? dropLast(s.undoStack, id) : [...s.undoStack, r.finding.id],
      lastAction: `${req.action === 'undo' ? 'Undone' : req.action === 'accept' ? 'Accepted' : req.action === 'reject' ? 'Rejected' : 'Modified'}: ${r.finding.label}`,
    }));
    return r.finding;
  } catch (e) {
    if (shown && before) replaceFinding(before, shown.id);
    if (e instanceof ApiError && e.status === 409) {
      // Locked by a sign-off (maybe in another tab): refresh so the panel shows the lock.
      const study = useFindingsStore.getState().studyUID;
      if (study) void loadFindings(study);
    }
    useFindingsStore.setState({ actionError: (e as Error).message });
    return null;
  }
}

export async function signOff(studyUID: string): Promise<void> {
  try {
    await apiJson(`/api/studies/${studyUID}/signoff`, { method: 'POST', body: '{}' });
  } catch (e) {
    useFindingsStore.setState({ actionError: (e as Error).message });
  }
  await loadFindings(studyUID);
}

function dropLast(stack: string[], id: string): string[] {
  const i = stack.lastIndexOf(id);
  return i < 0 ? stack : [...stack.slice(0, i), ...stack.slice(i + 1)];
}
