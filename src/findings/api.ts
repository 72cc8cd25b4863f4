/** Talking to the gateway's findings API: the one source of findings in the viewer (no SR is read here). */
import { flushReportDraft } from '../report/flush';
import { apiFetch, apiJson, ApiError, getSession } from '../auth/api';
import type { Finding } from '../core/findings/finding';
import { applyVerdict, type VerdictRequest } from '../core/findings/verdict';
import { findById, replaceFinding, useFindingsStore, type SignoffView } from './state';
import { getAiStatus } from '../ai/status';

type FindingsConfirm = ReturnType<typeof useFindingsStore.getState>['confirmSignoff'];

const unsettled = (s?: string) => s === 'pending' || s === 'sent';
let following: string | null = null;

/** While the signed result is on its way (SR to the PACS, ORU to the RIS), asks again every 2 s, for at most 2 minutes. */
function followSignoff(studyUID: string): void {
  if (following === studyUID) return;
  following = studyUID;
  const until = Date.now() + 120_000;
  const tick = () => {
    const s = useFindingsStore.getState();
    if (s.studyUID !== studyUID || Date.now() > until || !s.signoff || !(unsettled(s.signoff.srState) || unsettled(s.signoff.oruState))) {
      if (following === studyUID) following = null;
      return;
    }
    void loadFindings(studyUID, { quiet: true }).finally(() => setTimeout(tick, 2_000));
  };
  setTimeout(tick, 2_000);
}

/** Bumped by every verdict sent: a background refresh started before it is stale. */
let changes = 0;
let inFlight = 0;

export interface StudyFindingsResponse {
  findings: Finding[];
  signoff: SignoffView | null;
  afterSignoff?: Finding[];
  superseded?: { id: string; label: string; supersededAt: string; supersededBy: string }[];
  srWarnings?: string[];
}

/**
 * Loads what the gateway shows this reader: findings from every source (pre-read, in-browser AI,
 * AI SRs in the PACS read by the server, imports), after the reader policy; the sign-off with the
 * state of its SR and ORU; AI output that arrived after sign-off; SR conformance warnings.
 */
export async function loadFindings(studyUID: string, opts: { quiet?: boolean } = {}): Promise<void> {
  const seq = changes;
  if (!opts.quiet) useFindingsStore.setState({ loading: true, error: null });
  try {
    const r = await apiJson<StudyFindingsResponse>(`/api/studies/${studyUID}/findings`);
    if (useFindingsStore.getState().studyUID !== studyUID) return;
    // A quiet refresh never overwrites a verdict given while it was on the way.
    if (opts.quiet && (seq !== changes || inFlight > 0)) return;
    const warnings = r.srWarnings ?? [];
    if (warnings.length) console.warn(`[findings] ${warnings.length} SR conformance warning(s)`, warnings);
    useFindingsStore.setState({ findings: r.findings, signoff: r.signoff, afterSignoff: r.afterSignoff ?? [], superseded: r.superseded ?? [], srWarnings: warnings, loading: false });
    if (r.signoff && (unsettled(r.signoff.srState) || unsettled(r.signoff.oruState))) followSignoff(studyUID);
  } catch (e) {
    if (opts.quiet) return;
    useFindingsStore.setState({ loading: false, error: e instanceof ApiError && e.status === 403 ? null : `AI findings could not be loaded: ${(e as Error).message}` });
  }
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
  changes++;
  inFlight++;
  const settle = <T,>(v: T): T => {
    inFlight--;
    changes++;
    return v;
  };
  const run = verdictQueue.then(() => sendVerdictNow(id, req), () => sendVerdictNow(id, req)).then(settle);
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

/**
 * Sign-off. Without `confirm`, the gateway refuses (409) while findings are unverified and lists
 * them: the panel then asks for one more key (Enter, or the sign-off key again) and calls this with
 * `confirm`, which records which findings were left unverified.
 */
export async function signOff(studyUID: string, confirm = false): Promise<void> {
  useFindingsStore.setState({ actionError: null });
  try {
    // The report on screen is what gets signed: a draft edit still waiting to be saved goes first.
    await flushReportDraft();
    // The browser's own AI run on this study, if still going: only the viewer knows it, the server asks about it.
    const ai = getAiStatus();
    const browserAi = ai.studyUID === studyUID && ['checking', 'loading', 'running'].includes(ai.state) ? { model: ai.model?.name ?? 'browser-ai', done: ai.done, total: ai.total } : undefined;
    const res = await apiFetch(`/api/studies/${studyUID}/signoff`, { method: 'POST', body: JSON.stringify({ ...(confirm ? { confirmUnverified: true, confirmAiPending: true } : {}), ...(browserAi ? { browserAi } : {}) }) });
    const body = (await res.json().catch(() => ({}))) as { error?: string; unverified?: { id: string; label: string; confidence: number }[]; aiPending?: NonNullable<FindingsConfirm>['aiPending'] };
    if (res.status === 409 && (body.unverified?.length || body.aiPending?.length)) {
      // One more key: the panel shows what is unverified and what the AI is still reading, and waits for Enter (or the sign-off key again).
      useFindingsStore.setState({ confirmSignoff: { unverified: body.unverified ?? [], aiPending: body.aiPending ?? [] } });
      return;
    }
    if (!res.ok) throw new ApiError(res.status, body.error ?? `${res.status} ${res.statusText}`);
    useFindingsStore.setState({ confirmSignoff: null, lastAction: 'Signed off' });
  } catch (e) {
    useFindingsStore.setState({ confirmSignoff: null, actionError: (e as Error).message });
  }
  await loadFindings(studyUID);
}

export function cancelSignOff(): void {
  useFindingsStore.setState({ confirmSignoff: null });
}

function dropLast(stack: string[], id: string): string[] {
  const i = stack.lastIndexOf(id);
  return i < 0 ? stack : [...stack.slice(0, i), ...stack.slice(i + 1)];
}
