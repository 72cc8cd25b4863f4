/**
 * De-identified exports from the governance page (permission governance.deid-export): the feedback
 * dataset for retraining (GET /api/governance/feedback-export: one model and a period of verdicts, a tar)
 * and the de-identified assessment SRs (GET /api/governance/deid/assessments). The gateway de-identifies
 * and audits every download; this page only asks and saves what comes back.
 */
import { useEffect, useState } from 'react';
import { apiFetch, apiJson } from '../auth/api';

interface DeidAssessment {
  seq: number;
  action: string;
  role: string;
  href: string;
}

/** A date input's day (local) as the start of that day, ISO; `end` gives the start of the next day (the period is [from, to)). */
export function dayBound(day: string, end = false): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const d = new Date(`${day}T00:00:00`);
  if (Number.isNaN(d.getTime())) return null;
  if (end) d.setDate(d.getDate() + 1);
  return d.toISOString();
}

/** Saves a response body under the name the gateway gave it (content-disposition), without leaving the page. */
async function save(r: Response, fallback: string): Promise<void> {
  const name = /filename="([^"]+)"/.exec(r.headers.get('content-disposition') ?? '')?.[1] ?? fallback;
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own copy once started; the object URL is not needed after this turn.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function errorText(r: Response): Promise<string> {
  const j = (await r.json().catch(() => ({}))) as { error?: unknown };
  return Array.isArray(j.error) ? j.error.join('\n') : String(j.error ?? `HTTP ${r.status}`);
}

export function FeedbackExport({ models }: { models: string[] }) {
  const [model, setModel] = useState(models[0] ?? '');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<string | null>(null);
  useEffect(() => {
    if (!model && models[0]) setModel(models[0]);
  }, [models, model]);
  const run = async () => {
    const q = new URLSearchParams({ model });
    const f = from ? dayBound(from) : null;
    const t = to ? dayBound(to, true) : null;
    if (f) q.set('from', f);
    if (t) q.set('to', t);
    setBusy(true);
    setMsg(null);
    try {
      const r = await apiFetch(`/api/governance/feedback-export?${q}`);
      if (!r.ok) return setMsg(await errorText(r));
      await save(r, `feedback-${model}.tar`);
      setMsg(`Downloaded (export ${r.headers.get('x-export-id')?.slice(0, 8) ?? ''}).`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div data-testid="governance-feedback-export">
      <p className="muted">
        Every study with a standing accept, modify or reject of the model's output in the period (verdicts given from the first day to the last, both included): images and the AI result SR
        de-identified (PS3.15 Basic Profile, new UIDs per export), the findings with verdicts as role and reason, corrected boxes, misses added. One tar; the download is audited.
      </p>
      <div className="gov-toolbar">
        <label>
          Model{' '}
          <select aria-label="Export model" value={model} onChange={(e) => setModel(e.target.value)}>
            {models.map((m) => <option key={m} value={m}>{m}</option>)}
          </select>
        </label>
        <label>
          Verdicts from <input type="date" aria-label="Export from" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          to <input type="date" aria-label="Export to" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="button" disabled={!model || busy} onClick={() => void run()} data-testid="feedback-export-run">
          {busy ? 'Exporting…' : 'Download feedback export'}
        </button>
      </div>
      {msg && <pre className={msg.startsWith('Downloaded') ? 'muted' : 'error-banner'}>{msg}</pre>}
    </div>
  );
}

export function DeidAssessments() {
  const [rows, setRows] = useState<DeidAssessment[] | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  useEffect(() => {
    apiJson<{ assessments: DeidAssessment[] }>('/api/governance/deid/assessments').then((r) => setRows(r.assessments), (e: Error) => setMsg(e.message));
  }, []);
  const download = async (a: DeidAssessment) => {
    const r = await apiFetch(a.href);
    if (!r.ok) return setMsg(await errorText(r));
    setMsg(null);
    await save(r, `assessment-${a.seq}-deid.dcm`);
  };
  return (
    <div>
      <p className="muted">Each standing accept, modify or reject as a DICOM SR referencing the AI result it assesses, de-identified on download (the assessor as a role; the verdict's note left out).</p>
      {msg && <pre className="error-banner" data-testid="governance-deid-error">{msg}</pre>}
      {rows && !rows.length && <p className="muted">No verdict yet.</p>}
      {rows && rows.length > 0 && (
        <div className="gov-scroll" style={{ maxHeight: '16rem', overflowY: 'auto' }}>
          <table className="worklist-table gov-table" data-testid="governance-deid-assessments">
            <thead><tr><th>Verdict</th><th>Action</th><th>By (role)</th><th /></tr></thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.seq} data-seq={a.seq}>
                  <td>{a.seq}</td><td>{a.action}</td><td>{a.role}</td>
                  <td><button type="button" onClick={() => void download(a)}>Download SR</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
