/**
 * Findings sidebar: sorted by severity then confidence, each with type, confidence, slice and model,
 * a pending count, and one-click verdicts. Click or Enter on a row goes to the finding.
 */
import { severityShape, severityWord } from '../core/report/severity';
import { useReportStore } from '../report/state';
import type { KeyboardEvent } from 'react';
import type { ViewerContext } from '../viewer/extensions';
import { isPending, REJECT_REASONS, type Finding, type RejectReason } from '../core/findings/finding';
import { useSession } from '../auth/api';
import { can } from '../core/auth/permissions';
import { sortedFindings, useFindingsStore } from './state';
import { goToFinding, noteContext, targetRegion } from './navigation';
import { accept, reject, undo, setType, FINDING_TYPE_OPTIONS } from './actions';
import { cancelSignOff, signOff } from './api';
import type { SignoffView } from './state';
import { markStyle } from './Overlay';
import { useStudyFindings } from './useStudyFindings';
import { indexOfRegion } from './viewport';
import { sliceRangeOf } from '../core/findings/extent';
import { formatDateTime } from '../core/format/dates';

const REASON_LABEL: Record<RejectReason, string> = {
  'false-positive': 'False positive',
  artefact: 'Artefact',
  'clinically-insignificant': 'Clinically insignificant',
  other: 'Other',
};

function whereLabel(f: Finding, ctx: ViewerContext): string {
  const r = targetRegion(f);
  if (r.image.seriesInstanceUID === ctx.activeSeriesUID) {
    const range = f.extent ? sliceRangeOf(f, ctx.imageRefs.map((x) => x.sopInstanceUID)) : null;
    if (range) return `slices ${range.first + 1}–${range.last + 1}/${ctx.imageRefs.length}`;
    const i = indexOfRegion(ctx, r);
    if (i >= 0) return `slice ${i + 1}/${ctx.imageRefs.length}${f.regions.length > 1 ? ` (+${f.regions.length - 1})` : ''}`;
  }
  return 'other series';
}

export function FindingsPanel({ ctx }: { ctx: ViewerContext }) {
  useStudyFindings(ctx.studyInstanceUID);
  noteContext(ctx);
  const s = useFindingsStore();
  const session = useSession();
  // Interval change with the prior (the report capability's comparison), shown on the finding it concerns.
  const comparison = useReportStore((r) => (r.studyUID === ctx.studyInstanceUID ? r.comparison : null));
  const intervalOf = (id: string): string | null => {
    const c = comparison?.changes.find((x) => x.currentId === id);
    if (!c) return null;
    if (c.kind === 'new') return `new since ${comparison!.date || 'the prior'}`;
    if (c.pct === undefined) return `seen on ${comparison!.date || 'the prior'}`;
    return `${c.pct > 0 ? '▲ +' : c.pct < 0 ? '▼ −' : '±'}${Math.abs(c.pct)} % since ${comparison!.date || 'the prior'}`;
  };
  const list = sortedFindings(s);
  const pending = list.filter(isPending).length;
  const locked = !!s.signoff;
  const canVerdict = can(session.user?.role, 'findings.verdict');

  const open = (f: Finding) => void goToFinding(f, ctx);
  const onRowKey = (e: KeyboardEvent, f: Finding) => {
    if (e.target !== e.currentTarget) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      e.stopPropagation();
      open(f);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      // Listbox keys: move the focus between rows (and keep the viewer from scrolling the stack).
      e.preventDefault();
      e.stopPropagation();
      const rows = [...(e.currentTarget.parentElement?.querySelectorAll<HTMLElement>(':scope > li[data-finding-id]') ?? [])];
      const i = rows.indexOf(e.currentTarget as HTMLElement);
      rows[Math.max(0, Math.min(rows.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)))]?.focus();
    }
  };

  return (
    <section aria-label="AI findings" data-testid="findings-panel" style={{ font: '13px system-ui, sans-serif', color: '#e6e6e6', display: 'flex', flexDirection: 'column', gap: 6 }}>
      <header style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'baseline', padding: '0 8px' }}>
        <strong>AI findings</strong>
        <span data-testid="findings-pending" title="Findings no radiologist has acted on yet">
          {pending} pending
        </span>
      </header>
      {s.loading && <div>Loading findings…</div>}
      {s.error && <div role="alert" style={{ color: '#ff8a80' }}>{s.error}</div>}
      {s.actionError && (
        <div role="alert" data-testid="findings-action-error" style={{ color: '#ffcc80' }}>
          {s.actionError}
        </div>
      )}
      <div aria-live="polite" style={{ minHeight: 16, color: '#9ccc65', fontSize: 12 }}>
        {s.lastAction}
      </div>
      {locked && <SignoffSummary signoff={s.signoff!} />}
      {!s.loading && list.length === 0 && <div style={{ opacity: 0.7 }}>No AI findings for this study.</div>}
      <ul role="listbox" aria-label="Findings, most severe first" style={{ listStyle: 'none', margin: 0, padding: 0, display: 'flex', flexDirection: 'column', gap: 4 }}>
        {list.map((f) => {
          const st = markStyle(f);
          const sel = f.id === s.selectedId;
          const actionable = canVerdict && !locked;
          return (
            <li
              key={f.id}
              role="option"
              aria-selected={sel}
              tabIndex={0}
              data-finding-id={f.id}
              data-status={f.status}
              onClick={() => open(f)}
              onKeyDown={(e) => onRowKey(e, f)}
              style={{ border: `1px solid ${sel ? st.stroke : '#333'}`, borderLeft: `4px solid ${st.stroke}`, borderRadius: 3, padding: '4px 6px', cursor: 'pointer', background: sel ? 'rgba(255,255,255,0.06)' : 'transparent' }}
            >
              <div style={{ display: 'flex', justifyContent: 'space-between', gap: 6 }}>
                <span>
                  <span style={{ fontSize: 12, padding: '0 3px', border: `1px solid ${st.stroke}`, color: st.stroke, borderRadius: 2, marginRight: 4 }}>{f.source === 'sr' ? 'SR' : f.source === 'radiologist' ? 'Radiologist' : 'AI'}</span>
                  <strong>{f.label}</strong>
                </span>
                <span data-testid="finding-confidence">{f.source === 'radiologist' ? 'your finding' : f.confidenceStated === false ? 'confidence not given' : `${Math.round(f.confidence * 100)}%`}</span>
              </div>
              <div style={{ fontSize: 12, opacity: 0.85, display: 'flex', flexWrap: 'wrap', gap: 8 }}>
                <span data-testid="finding-severity">
                  <span aria-hidden="true">{severityShape(f.severity)}</span> {severityWord(f.severity)}
                </span>
                <span data-testid="finding-slice">{whereLabel(f, ctx)}</span>
                {intervalOf(f.id) && (
                  <span data-testid="finding-interval" title="Change since the prior (report panel: Comparison)">
                    {intervalOf(f.id)}
                  </span>
                )}
                <span title={`${f.model.manufacturer} ${f.model.name} ${f.model.version}`}>
                  {f.model.name} {f.model.version}
                </span>
                <span data-testid="finding-status" style={{ color: st.stroke }}>
                  {st.text}
                  {f.verdict ? ` by ${f.verdict.by}` : ''}
                  {f.verdict?.reason ? ` (${REASON_LABEL[f.verdict.reason]})` : ''}
                </span>
              </div>
              {actionable && (
                <div style={{ display: 'flex', gap: 4, marginTop: 4, flexWrap: 'wrap' }} onClick={(e) => e.stopPropagation()} onKeyDown={(e) => e.stopPropagation()}>
                  <button type="button" data-action="accept" title="Accept (a)" disabled={f.status === 'accepted'} onClick={() => void accept(f)}>
                    ✓ Accept
                  </button>
                  <button type="button" data-action="reject" title="Reject (x)" disabled={f.status === 'rejected'} onClick={() => void reject(f)}>
                    ✗ Reject
                  </button>
                  <select
                    aria-label="Reject with reason"
                    data-action="reject-reason"
                    value={f.status === 'rejected' ? (f.verdict?.reason ?? '') : ''}
                    onChange={(e) => e.target.value && void reject(f, e.target.value as RejectReason)}
                  >
                    <option value="">Reason…</option>
                    {REJECT_REASONS.map((r) => (
                      <option key={r} value={r}>
                        {REASON_LABEL[r]}
                      </option>
                    ))}
                  </select>
                  <select aria-label="Change finding type" data-action="type" value={f.type.value} onChange={(e) => void setType(f, e.target.value)}>
                    {!FINDING_TYPE_OPTIONS.some((t) => t.value === f.type.value) && <option value={f.type.value}>{f.type.meaning}</option>}
                    {FINDING_TYPE_OPTIONS.map((t) => (
                      <option key={t.value} value={t.value}>
                        {t.meaning}
                      </option>
                    ))}
                  </select>
                  {f.status !== 'ai-unverified' && (
                    <button type="button" data-action="undo" title="Undo the last verdict (u / Ctrl+Z)" onClick={() => void undo(f)}>
                      ↶ Undo
                    </button>
                  )}
                </div>
              )}
            </li>
          );
        })}
      </ul>
      {s.srWarnings.length > 0 && (
        <details data-testid="findings-sr-warnings" style={{ fontSize: 12, color: '#ffcc80' }}>
          <summary>{s.srWarnings.length} SR conformance warning(s): the SR was read tolerantly</summary>
          <ul style={{ margin: 0, paddingLeft: 16 }}>
            {s.srWarnings.slice(0, 50).map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </details>
      )}
      {s.superseded.length > 0 && (
        <details data-testid="findings-superseded" style={{ fontSize: 12, opacity: 0.8 }}>
          <summary>{s.superseded.length} earlier unverified result(s) replaced by a re-read</summary>
          <ul style={{ margin: 0, paddingLeft: 16 }}>
            {s.superseded.slice(0, 50).map((x, i) => (
              <li key={`${x.id}-${i}`}>
                {x.label} · {x.supersededBy} · {formatDateTime(x.supersededAt)}
              </li>
            ))}
          </ul>
        </details>
      )}
      {s.afterSignoff.length > 0 && (
        <details data-testid="findings-after-signoff" open style={{ fontSize: 12, color: '#ffcc80' }}>
          <summary>{s.afterSignoff.length} AI result(s) arrived after sign-off: not part of the signed report</summary>
          <ul style={{ margin: 0, paddingLeft: 16 }}>
            {s.afterSignoff.map((f) => (
              <li key={f.id} data-finding-id={f.id}>
                {f.label} {f.confidenceStated === false ? 'confidence not given' : `${Math.round(f.confidence * 100)}%`} · {f.model.name} {f.model.version} · {formatDateTime(f.createdAt)}
              </li>
            ))}
          </ul>
        </details>
      )}
      {can(session.user?.role, 'study.signoff') && !locked && s.confirmSignoff && (
        <div
          role="alertdialog"
          aria-label={s.confirmSignoff.aiPending?.length ? 'Confirm sign-off while the AI is still reading' : 'Confirm sign-off with unverified findings'}
          data-testid="findings-signoff-confirm"
          style={{ border: '1px solid #ffcc80', borderRadius: 3, padding: 6, color: '#ffcc80' }}
          onKeyDown={(e) => {
            e.stopPropagation();
            if (e.key === 'Escape') {
              e.preventDefault();
              cancelSignOff();
            } else if (e.key === 'S') {
              // The sign-off key again confirms (focus is here, so the viewer's key map does not see it).
              e.preventDefault();
              void signOff(ctx.studyInstanceUID, true);
            }
          }}
        >
          {!!s.confirmSignoff.aiPending?.length && (
            <div data-testid="signoff-ai-pending">
              <div>The AI has not finished reading this study; signing now records it as signed without those results:</div>
              <ul style={{ margin: '2px 0', paddingLeft: 16 }}>
                {s.confirmSignoff.aiPending.map((p, i) => (
                  <li key={`${p.source}-${p.model}-${i}`}>
                    {p.model} {p.source === 'browser' ? `in this browser${p.total ? `, ${p.done ?? 0}/${p.total} slices` : ''}` : `pre-read, ${p.state === 'running' ? 'running' : 'queued'}`}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {s.confirmSignoff.unverified.length > 0 && (
            <>
              <div>{s.confirmSignoff.unverified.length} finding(s) are still unverified and will be recorded as left unverified:</div>
              <ul style={{ margin: '2px 0', paddingLeft: 16 }}>
                {s.confirmSignoff.unverified.slice(0, 10).map((f) => (
                  <li key={f.id}>
                    {f.label} {Math.round(f.confidence * 100)}%
                  </li>
                ))}
              </ul>
            </>
          )}
          <div style={{ display: 'flex', gap: 4 }}>
            {/* Focused at once: Enter is the one extra key. */}
            <button type="button" autoFocus data-action="signoff-confirm" onClick={() => void signOff(ctx.studyInstanceUID, true)}>
              Sign off anyway (Enter)
            </button>
            <button type="button" data-action="signoff-cancel" onClick={() => cancelSignOff()}>
              Cancel (Esc)
            </button>
          </div>
        </div>
      )}
      {can(session.user?.role, 'study.signoff') && !locked && !s.confirmSignoff && (
        <button type="button" data-action="signoff" onClick={() => void signOff(ctx.studyInstanceUID)} title="Record the sign-off; unverified AI findings stay out of the verified report (asked once more if any)">
          Sign off study (S)
        </button>
      )}
    </section>
  );
}

const STATE_TEXT: Record<string, string> = { none: '—', pending: 'pending', sent: 'sent, awaiting answer', acknowledged: 'acknowledged', failed: 'FAILED' };

/** Final, SR stored, ORU acknowledged: where the signed result is, from the gateway's outbox. */
function SignoffSummary({ signoff }: { signoff: SignoffView }) {
  const left = signoff.unverifiedIds?.length ?? 0;
  return (
    <div data-testid="findings-signed" style={{ color: '#9ccc65' }}>
      <div>
        Final: signed off by {signoff.signedBy} at {formatDateTime(signoff.signedAt)}: verdicts are locked.
      </div>
      <div style={{ fontSize: 12, display: 'flex', gap: 8, flexWrap: 'wrap' }}>
        <span data-testid="signoff-sr" data-state={signoff.srState ?? 'none'}>
          SR: {signoff.srState === 'acknowledged' ? 'stored' : STATE_TEXT[signoff.srState ?? 'none']}
        </span>
        <span data-testid="signoff-oru" data-state={signoff.oruState ?? 'none'}>
          ORU: {STATE_TEXT[signoff.oruState ?? 'none']}
        </span>
        {left > 0 && <span data-testid="signoff-left-unverified">{left} left unverified</span>}
      </div>
    </div>
  );
}
