/**
 * The report panel, beside the findings panel: a draft pre-populated from the accepted and modified
 * findings by a template (findings sentences, measurement table, impression), edited with the keyboard.
 * A line worded from AI output is marked "AI-suggested" until the radiologist accepts it (Ctrl+Enter) or
 * edits it; free text goes anywhere (any line, an added sentence, comments). Saved on the server as it is
 * edited; after sign-off the signed report is shown read-only, with its addenda and a box to add one.
 */
import { useEffect, useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';
import type { ViewerContext } from '../viewer/extensions';
import { apiJson, useSession } from '../auth/api';
import { can } from '../core/auth/permissions';
import { useFindingsStore } from '../findings/state';
import { REPORT_TEMPLATES, templateFor } from '../core/report/templates';
import { type RadiologistMeasurement, addComparisonLines, acceptAll, acceptLine, addLine, draftFromFindings, editLine, isAiSuggested, pendingAiLines, refreshDraft, removeLine, reportPlainText, type DraftLine, type ReportDraft } from '../core/report/draft';
import { addAddendum, loadPriors, loadReport, saveReport } from './api';
import { useReportStore } from './state';
import { formatDate, formatDateTime } from '../core/format/dates';
import { setPendingReportSave } from './flush';
import { onMeasurementsChanged } from '../measurements/changed';

const SAVE_DELAY_MS = 600;

const aiStyle: CSSProperties = { border: '1px dashed #ffb74d', background: '#2a2110' };
const ownStyle: CSSProperties = { border: '1px solid #3a4350', background: '#11161c' };
const badge: CSSProperties = { fontSize: 12, fontWeight: 700, color: '#ffcc80', border: '1px solid #ffb74d', borderRadius: 3, padding: '0 3px', marginRight: 4 };
const small: CSSProperties = { fontSize: 12, padding: '1px 6px' };

let saveTimer: ReturnType<typeof setTimeout> | null = null;

let saving: Promise<void> = Promise.resolve();

function change(studyUID: string, next: ReportDraft): void {
  useReportStore.setState({ draft: next, dirty: true, saving: 'pending' });
  if (saveTimer) clearTimeout(saveTimer);
  saveTimer = setTimeout(() => void flush(studyUID), SAVE_DELAY_MS);
  // A sign-off in the meantime saves first (src/findings/api.ts awaits this).
  setPendingReportSave(() => flush(studyUID));
}

/** Saves at once (leaving a line, before a sign-off): what the server signs is what is on screen. Saves run one after another. */
function flush(studyUID: string): Promise<void> {
  if (saveTimer) clearTimeout(saveTimer);
  saveTimer = null;
  setPendingReportSave(null);
  const d = useReportStore.getState().draft;
  if (d && useReportStore.getState().dirty) saving = saving.then(() => saveReport(studyUID, d));
  return saving;
}

function Line({ line, studyUID, draft, readOnly, label }: { line: DraftLine; studyUID: string; draft: ReportDraft; readOnly: boolean; label: string }) {
  const ai = isAiSuggested(line);
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (ai) change(studyUID, acceptLine(draft, line.id));
      // Next line: keyboard-first review, top to bottom.
      const all = [...document.querySelectorAll<HTMLTextAreaElement>('[data-report-line]')];
      all[all.indexOf(e.currentTarget) + 1]?.focus();
    } else if (e.key === 'Escape') {
      e.currentTarget.blur();
    }
  };
  return (
    <div data-testid="report-line" data-line-id={line.id} data-origin={line.origin} data-ai-suggested={ai ? 'true' : 'false'} style={{ marginBottom: 4 }}>
      <div style={{ display: 'flex', alignItems: 'center', gap: 4, fontSize: 12 }}>
        {ai && (
          <span style={badge} title="Worded from AI output: accept (Ctrl+Enter) or edit it before signing">
            AI-suggested
          </span>
        )}
        {!ai && line.origin === 'ai' && <span style={{ fontSize: 12, opacity: 0.7 }}>AI wording, accepted</span>}
        <span style={{ flex: 1 }} />
        {!readOnly && ai && (
          <button type="button" style={small} data-action="report-accept-line" onClick={() => change(studyUID, acceptLine(draft, line.id))}>
            Accept
          </button>
        )}
        {!readOnly && line.id !== 'impression' && (
          <button type="button" style={small} aria-label={`Delete ${label}`} data-action="report-delete-line" onClick={() => change(studyUID, removeLine(draft, line.id))}>
            ✕
          </button>
        )}
      </div>
      <textarea
        data-report-line={line.id}
        aria-label={`${label}${ai ? ' (AI-suggested)' : ''}`}
        value={line.text}
        readOnly={readOnly}
        rows={Math.max(1, Math.ceil(line.text.length / 42))}
        onChange={(e) => change(studyUID, editLine(draft, line.id, e.target.value))}
        onKeyDown={onKeyDown}
        onBlur={() => void flush(studyUID)}
        style={{ width: '100%', resize: 'vertical', color: 'inherit', font: 'inherit', fontSize: 12, fontStyle: ai ? 'italic' : 'normal', borderRadius: 4, padding: 4, ...(ai ? aiStyle : ownStyle) }}
      />
    </div>
  );
}

export function ReportPanel({ ctx }: { ctx: ViewerContext }) {
  const studyUID = ctx.studyInstanceUID;
  const session = useSession();
  const role = session.user?.role;
  const r = useReportStore();
  const findings = useFindingsStore((s) => s.findings);
  const findingsStudy = useFindingsStore((s) => s.studyUID);
  const signoff = useFindingsStore((s) => s.signoff);
  const [addendum, setAddendum] = useState('');
  // The radiologist's measurements (gateway/measurements): read when the panel opens, again whenever this
  // page saves or deletes one, and when the tab comes back into view (another tab or reader may have).
  const [measurements, setMeasurements] = useState<RadiologistMeasurement[]>([]);
  const writer = can(role, 'report.write');
  const signed = !!r.signedAt || !!signoff;
  const readOnly = signed || !writer;

  useEffect(() => {
    void loadReport(studyUID).then(() => loadPriors(studyUID));
  }, [studyUID]);
  useEffect(() => {
    if (!can(role, 'measurements.read')) return;
    let closed = false;
    let last = '';
    const read = () =>
      apiJson<{ measurements: RadiologistMeasurement[] }>(`/api/studies/${studyUID}/measurements`)
        .then((b) => {
          const key = JSON.stringify(b.measurements.map((m) => [m.id, m.tool, m.stats]));
          if (!closed && key !== last) {
            last = key;
            setMeasurements(b.measurements);
          }
        })
        .catch(() => {});
    void read();
    const off = onMeasurementsChanged(studyUID, () => void read());
    const onVisible = () => void (document.visibilityState === 'visible' && read());
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      closed = true;
      off();
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [studyUID, role]);
  // A verdict changes what is compared with the prior: ask again (the comparison counts accepted findings).
  useEffect(() => {
    if (findingsStudy !== studyUID || !findings.length) return;
    const t = setTimeout(() => void loadPriors(studyUID), 500);
    return () => clearTimeout(t);
  }, [findings, findingsStudy, studyUID]);
  // Signed elsewhere (S in the findings panel): the draft is now the signed report.
  useEffect(() => {
    if (signoff && !r.signedAt) void loadReport(studyUID);
  }, [signoff, r.signedAt, studyUID]);

  // The draft follows the findings: created once loaded, and refreshed when a verdict adds or removes a finding.
  const lastFindings = useRef<unknown>(null);
  useEffect(() => {
    if (!r.loaded || readOnly || findingsStudy !== studyUID || r.studyUID !== studyUID) return;
    if (!r.draft) {
      if (!r.study) return;
      change(studyUID, draftFromFindings(findings, templateFor(r.study, undefined, findings).id, measurements));
      lastFindings.current = [findings, measurements];
      return;
    }
    // The interval change with the prior goes into the draft once, AI-suggested.
    if (r.comparison?.changes.length) {
      const withCmp = addComparisonLines(r.draft, r.comparison.changes.map((c) => ({ key: c.currentId ?? `p-${c.priorId}`, text: c.sentence })));
      if (withCmp !== r.draft) return change(studyUID, withCmp);
    }
    const prev = lastFindings.current as [unknown, unknown] | null;
    if (prev && prev[0] === findings && prev[1] === measurements) return;
    lastFindings.current = [findings, measurements];
    const next = refreshDraft(r.draft, findings, measurements);
    if (JSON.stringify(next) !== JSON.stringify(r.draft)) change(studyUID, next);
  }, [r.loaded, r.draft, r.study, r.studyUID, r.comparison, readOnly, findings, measurements, findingsStudy, studyUID]);

  if (!can(role, 'report.read')) return null;
  const d = r.draft;
  const pending = d ? pendingAiLines(d).length : 0;

  return (
    <section aria-label="Report" data-testid="report-panel" style={{ borderTop: '1px solid #2a313a', marginTop: 8, paddingTop: 8, fontSize: 12 }}>
      <div style={{ display: 'flex', alignItems: 'center', gap: 6, marginBottom: 6 }}>
        <strong style={{ fontSize: 13 }}>Report</strong>
        {signed ? (
          <span data-testid="report-state" data-state="final" style={{ color: '#4da3ff' }}>
            Final{r.signedAt ? ` · signed ${formatDateTime(r.signedAt)}` : ''}
          </span>
        ) : (
          <span data-testid="report-state" data-state={r.saving} style={{ opacity: 0.8 }}>
            Draft{r.saving === 'pending' ? ' · saving…' : r.saving === 'saved' ? ' · saved' : r.saving === 'error' ? ' · NOT saved' : ''}
          </span>
        )}
        <span style={{ flex: 1 }} />
        {d && !readOnly && (
          <select
            aria-label="Report template"
            value={d.templateId}
            onChange={(e) => change(studyUID, refreshDraft({ ...d, templateId: e.target.value, findings: d.findings.filter((l) => l.origin === 'radiologist' || (l.origin === 'ai' && l.accepted)) }, findings, measurements))}
            style={{ fontSize: 12, background: '#1b2027', color: 'inherit', border: '1px solid #2a313a' }}
          >
            {REPORT_TEMPLATES.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        )}
      </div>
      {r.error && (
        <div role="alert" style={{ color: '#ff7875', fontSize: 12 }}>
          {r.error}
        </div>
      )}
      {!d && r.loaded && readOnly && <p style={{ opacity: 0.7 }}>No report text{signed ? ' was signed with this study' : ''}.</p>}
      {d && (
        <>
          {!readOnly && pending > 0 && (
            <div data-testid="report-pending" style={{ color: '#ffcc80', fontSize: 12, marginBottom: 4, display: 'flex', gap: 6, alignItems: 'center' }}>
              {pending} AI-suggested line{pending > 1 ? 's' : ''} to accept or edit before sign-off
              <button type="button" style={small} data-action="report-accept-all" onClick={() => change(studyUID, acceptAll(d))}>
                Accept all
              </button>
            </div>
          )}
          <h4 style={{ margin: '4px 0', fontSize: 12, textTransform: 'uppercase', opacity: 0.8 }}>Findings</h4>
          {d.findings.map((l, i) => (
            <Line key={l.id} line={l} studyUID={studyUID} draft={d} readOnly={readOnly} label={`Findings sentence ${i + 1}`} />
          ))}
          {!readOnly && (
            <button type="button" style={small} data-action="report-add-line" onClick={() => {
              const next = addLine(d, '');
              change(studyUID, next);
              setTimeout(() => document.querySelector<HTMLTextAreaElement>(`[data-report-line="${next.findings[next.findings.length - 1].id}"]`)?.focus(), 0);
            }}>
              + Sentence
            </button>
          )}
          {d.measurements.length > 0 && (
            <>
              <h4 style={{ margin: '8px 0 4px', fontSize: 12, textTransform: 'uppercase', opacity: 0.8 }}>Measurements</h4>
              <table data-testid="report-measurements" style={{ width: '100%', fontSize: 12, borderCollapse: 'collapse' }}>
                <thead>
                  <tr style={{ textAlign: 'left', opacity: 0.8 }}>
                    <th>Finding</th>
                    <th>Measure</th>
                    <th>Value</th>
                    <th>By</th>
                  </tr>
                </thead>
                <tbody>
                  {d.measurements.map((m, i) => (
                    <tr key={i}>
                      <td>{m.finding}</td>
                      <td>{m.name}</td>
                      <td>
                        {Math.round(m.value * 10) / 10} {m.unit}
                      </td>
                      <td>{m.origin === 'ai' ? 'AI' : 'Radiologist'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
          <h4 style={{ margin: '8px 0 4px', fontSize: 12, textTransform: 'uppercase', opacity: 0.8 }}>Impression</h4>
          <Line line={d.impression} studyUID={studyUID} draft={d} readOnly={readOnly} label="Impression" />
          <h4 style={{ margin: '8px 0 4px', fontSize: 12, textTransform: 'uppercase', opacity: 0.8 }}>Comments</h4>
          <textarea
            aria-label="Comments (free text)"
            data-report-line="comments"
            value={d.comments}
            readOnly={readOnly}
            rows={2}
            onChange={(e) => change(studyUID, { ...d, comments: e.target.value })}
            onBlur={() => void flush(studyUID)}
            onKeyDown={(e) => e.key === 'Escape' && e.currentTarget.blur()}
            style={{ width: '100%', color: 'inherit', font: 'inherit', fontSize: 12, borderRadius: 4, padding: 4, ...ownStyle }}
          />
        </>
      )}
      {r.comparison && (
        <div data-testid="report-comparison" data-prior={r.comparison.studyUID} style={{ marginTop: 8, borderTop: '1px solid #2a313a', paddingTop: 6 }}>
          <h4 style={{ margin: '0 0 4px', fontSize: 12, textTransform: 'uppercase', opacity: 0.8 }}>
            Comparison: prior {formatDate(r.comparison.date) || '(undated)'} {r.comparison.description ? `· ${r.comparison.description}` : ''}
          </h4>
          <ul style={{ margin: 0, paddingLeft: 16 }}>
            {r.comparison.changes.map((c) => (
              <li key={`${c.currentId ?? ''}:${c.priorId ?? ''}`} data-testid="interval-change" data-kind={c.kind}>
                {c.sentence}
              </li>
            ))}
            {r.comparison.changes.length === 0 && <li style={{ opacity: 0.7 }}>No findings to compare.</li>}
          </ul>
          <details>
            <summary style={{ fontSize: 12 }}>Prior report{r.comparison.reportSource === 'ris' ? ' (from the RIS)' : r.comparison.signedAt ? '' : ' (none)'}</summary>
            <pre data-testid="prior-report" style={{ whiteSpace: 'pre-wrap', fontSize: 12 }}>{r.comparison.report ?? 'No signed report for the prior.'}</pre>
          </details>
          <button type="button" style={small} data-action="open-prior" onClick={() => window.dispatchEvent(new CustomEvent('rs:viewer-command', { detail: 'viewer.comparePrior' }))}>
            Compare side by side (C)
          </button>
        </div>
      )}
      {signed && d && (
        <details style={{ marginTop: 6 }}>
          <summary style={{ fontSize: 12 }}>As sent (SR text, ORU lines)</summary>
          <pre data-testid="report-signed-text" style={{ whiteSpace: 'pre-wrap', fontSize: 12 }}>{reportPlainText(d)}</pre>
        </details>
      )}
      {signed && (
        <div data-testid="report-addenda" style={{ marginTop: 6 }}>
          {r.addenda.map((a) => (
            <p key={a.id} data-testid="report-addendum" style={{ margin: '4px 0', borderLeft: '3px solid #4da3ff', paddingLeft: 6 }}>
              <strong>Addendum</strong> · {a.addedBy} · {formatDateTime(a.addedAt)}: {a.text}
            </p>
          ))}
          {can(role, 'report.addendum') && (
            <div>
              <textarea
                aria-label="Addendum (sent as a corrected result; the signed report is kept)"
                placeholder="Addendum… (Ctrl+Enter sends: a corrected result and a new SR; the signed report is kept)"
                value={addendum}
                rows={2}
                onChange={(e) => setAddendum(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && addendum.trim()) {
                    e.preventDefault();
                    void addAddendum(studyUID, addendum).then((ok) => ok && setAddendum(''));
                  }
                }}
                style={{ width: '100%', color: 'inherit', font: 'inherit', fontSize: 12, borderRadius: 4, padding: 4, ...ownStyle }}
              />
              <button type="button" style={small} data-action="report-addendum" disabled={!addendum.trim()} onClick={() => void addAddendum(studyUID, addendum).then((ok) => ok && setAddendum(''))}>
                Add addendum
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

/** Focuses the first AI-suggested line (else the first line): the report from the keyboard. */
export function focusReport(): void {
  const first = document.querySelector<HTMLTextAreaElement>('[data-ai-suggested="true"] textarea') ?? document.querySelector<HTMLTextAreaElement>('[data-report-line]');
  first?.focus();
}
