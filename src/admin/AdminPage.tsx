/**
 * Administration: users and roles, the role policy (JSON editor, versioned on the server), model
 * rollout modes, AI-disabled modalities, outbox status, governance figures and audit export.
 * Everything here is enforced by the gateway; the page only shows what the signed-in role may use.
 */
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { apiFetch, apiJson, useSession } from '../auth/api';
import { ROLES, ROLE_LABELS } from '../core/auth/roles';
import { ADMIN_PAGE_ACTIONS, can, canAny } from '../core/auth/permissions';
import { ROLLOUT_MODES, type RolloutMode } from '../core/policy/policy';
import type { Figures as GovernanceFigures } from '../core/governance/figures';
import { navigate } from '../app/router';
import { formatDateTime } from '../core/format/dates';
import { Notices } from '../governance/Alerts';

interface UserRow { username: string; displayName: string; role: string; locked: boolean }
interface PolicyResp { version: number; policy: unknown; changedBy: string; changedAt: string; history: { version: number; changedBy: string; changedAt: string; note: string | null }[] }
interface RolloutResp { defaultMode: RolloutMode; models: { name: string; mode: RolloutMode }[] }

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section style={{ background: 'var(--panel)', border: '1px solid var(--line)', borderRadius: 8, padding: '0.8rem 1rem', marginBottom: '1rem' }}>
      <h2 style={{ fontSize: '1rem', margin: '0 0 0.6rem' }}>{title}</h2>
      {children}
    </section>
  );
}

async function send(path: string, method: string, body?: unknown): Promise<string | null> {
  const r = await apiFetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.ok) return null;
  const j = (await r.json().catch(() => ({}))) as { error?: string; details?: unknown };
  return [j.error ?? `${r.status}`, ...(Array.isArray(j.details) ? j.details.map(String) : [])].join('\n');
}

function Users() {
  const { user } = useSession();
  const [users, setUsers] = useState<UserRow[]>([]);
  const [msg, setMsg] = useState<string | null>(null);
  const load = useCallback(async () => setUsers((await apiJson<{ users: UserRow[] }>('/api/admin/users')).users), []);
  useEffect(() => void load().catch((e: Error) => setMsg(e.message)), [load]);
  return (
    <Section title="Users and roles">
      {msg && <pre className="error-banner">{msg}</pre>}
      <table className="worklist-table" data-testid="admin-users">
        <thead><tr><th>User</th><th>Name</th><th>Role</th><th>Status</th></tr></thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.username}>
              <td>{u.username}</td>
              <td>{u.displayName}</td>
              <td>
                <select aria-label={`Role of ${u.username}`} value={u.role} disabled={u.username === user?.username} onChange={async (e) => { setMsg(await send(`/api/admin/users/${encodeURIComponent(u.username)}/role`, 'PUT', { role: e.target.value })); await load(); }}>
                  {ROLES.map((r) => <option key={r} value={r}>{ROLE_LABELS[r]}</option>)}
                </select>
              </td>
              <td>
                {u.locked ? <button type="button" onClick={async () => { setMsg(await send(`/api/admin/users/${encodeURIComponent(u.username)}/unlock`, 'POST', {})); await load(); }}>Locked: unlock</button> : <span className="muted">active</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function PolicyEditor() {
  const [cur, setCur] = useState<PolicyResp | null>(null);
  const [text, setText] = useState('');
  const [note, setNote] = useState('');
  const [msg, setMsg] = useState<string | null>(null);
  const load = useCallback(async () => {
    const p = await apiJson<PolicyResp>('/api/admin/policy');
    setCur(p);
    setText(JSON.stringify(p.policy, null, 2));
  }, []);
  useEffect(() => void load().catch((e: Error) => setMsg(e.message)), [load]);
  const save = async () => {
    let policy: unknown;
    try {
      policy = JSON.parse(text);
    } catch (e) {
      return setMsg(`not valid JSON: ${(e as Error).message}`);
    }
    const err = await send('/api/admin/policy', 'PUT', { policy, note: note || undefined, baseVersion: cur?.version });
    setMsg(err ?? 'Saved: a new version is in effect.');
    if (!err) {
      setNote('');
      await load();
    }
  };
  return (
    <Section title={`Role policy${cur ? ` (version ${cur.version}${cur.version ? `, by ${cur.changedBy}` : ', built-in defaults'})` : ''}`}>
      <p className="muted" style={{ marginTop: 0 }}>Per role: kinds (diagnostic / quality), minConfidence, severities, findingTypes, modalities. A role without a rule sees no findings. Sign-off stays with radiologists and is not configurable.</p>
      <textarea aria-label="Policy JSON" data-testid="policy-json" value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} style={{ width: '100%', minHeight: '16rem', fontFamily: 'monospace', fontSize: 12, background: '#0f1317', color: 'var(--text)', border: '1px solid var(--line)', borderRadius: 6 }} />
      <div style={{ display: 'flex', gap: 8, marginTop: 6 }}>
        <input aria-label="Change note" placeholder="Why (recorded in the audit trail)" value={note} onChange={(e) => setNote(e.target.value)} style={{ flex: 1 }} />
        <button type="button" onClick={() => void save()}>Save policy</button>
      </div>
      {msg && <pre data-testid="policy-message" style={{ whiteSpace: 'pre-wrap' }}>{msg}</pre>}
      {cur && cur.history.length > 0 && (
        <details>
          <summary className="muted">History ({cur.history.length})</summary>
          <ul>{cur.history.map((h) => <li key={h.version}>v{h.version} · {h.changedAt} · {h.changedBy}{h.note ? ` · ${h.note}` : ''}</li>)}</ul>
        </details>
      )}
    </Section>
  );
}

function Rollout({ canEdit }: { canEdit: boolean }) {
  const [data, setData] = useState<RolloutResp | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  const load = useCallback(async () => {
    const t = await apiJson<RolloutResp>('/api/admin/rollout');
    // Models from the registry too, so a model nobody configured yet is listed with its default mode.
    const reg = await apiJson<{ models: { name: string }[] }>('/api/models').catch(() => ({ models: [] }));
    const names = new Set([...t.models.map((m) => m.name), ...reg.models.map((m) => m.name)]);
    setData({ defaultMode: t.defaultMode, models: [...names].sort().map((name) => ({ name, mode: t.models.find((m) => m.name === name)?.mode ?? t.defaultMode })) });
  }, []);
  useEffect(() => void load().catch((e: Error) => setMsg(e.message)), [load]);
  return (
    <Section title="Models: rollout mode">
      <p className="muted" style={{ marginTop: 0 }}>off: not run · silent: runs and is counted, never shown to readers · assistive: shown. Takes effect at once.</p>
      {msg && <pre className="error-banner">{msg}</pre>}
      {data?.models.length === 0 && <p className="muted">No models installed.</p>}
      {data?.models.map((m) => (
        <div key={m.name} role="radiogroup" aria-label={`Rollout of ${m.name}`} data-testid={`rollout-${m.name}`} style={{ display: 'flex', gap: 6, alignItems: 'center', marginBottom: 4 }}>
          <span style={{ minWidth: 14 + 'rem' }}>{m.name}</span>
          {ROLLOUT_MODES.map((mode) => (
            <button key={mode} type="button" role="radio" aria-checked={m.mode === mode} className={m.mode === mode ? 'on' : ''} disabled={!canEdit} onClick={async () => { setMsg(await send(`/api/admin/models/${encodeURIComponent(m.name)}/rollout`, 'PUT', { mode })); await load(); }}>
              {mode}
            </button>
          ))}
        </div>
      ))}
    </Section>
  );
}

function Modalities({ canEdit }: { canEdit: boolean }) {
  const [mods, setMods] = useState<string[]>([]);
  const [text, setText] = useState('');
  const [msg, setMsg] = useState<string | null>(null);
  const load = useCallback(async () => {
    const m = (await apiJson<{ modalities: string[] }>('/api/admin/ai-disabled-modalities')).modalities;
    setMods(m);
    setText(m.join(', '));
  }, []);
  useEffect(() => void load().catch((e: Error) => setMsg(e.message)), [load]);
  const save = async () => {
    const list = text.split(/[\s,]+/).map((s) => s.trim().toUpperCase()).filter(Boolean);
    setMsg(await send('/api/admin/ai-disabled-modalities', 'PUT', { modalities: list }));
    await load();
  };
  return (
    <Section title="AI disabled for modalities">
      <p className="muted" style={{ marginTop: 0 }}>Currently: {mods.length ? mods.join(', ') : 'none'}. Studies of these modalities read as usual, without AI.</p>
      {canEdit && (
        <div style={{ display: 'flex', gap: 8 }}>
          <input aria-label="Disabled modalities" placeholder="e.g. CT, CR" value={text} onChange={(e) => setText(e.target.value)} />
          <button type="button" onClick={() => void save()}>Save</button>
        </div>
      )}
      {msg && <pre className="error-banner">{msg}</pre>}
    </Section>
  );
}

/** A summary per model/version/mode/modality (all weeks); the governance page has the weeks, charts and CSV. */
function Figures() {
  const [figs, setFigs] = useState<GovernanceFigures | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  useEffect(() => void apiJson<GovernanceFigures>('/api/governance/figures').then(setFigs).catch((e: Error) => setMsg(e.message)), []);
  const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
  return (
    <Section title="Governance figures (per model, all weeks)">
      {msg && <pre className="error-banner">{msg}</pre>}
      <p className="muted" style={{ marginTop: 0 }}>
        Every produced finding is counted in exactly one state. Weeks, charts and CSV:{' '}
        <a
          href="/governance"
          onClick={(e) => {
            e.preventDefault();
            navigate('/governance');
          }}
        >
          governance page
        </a>
        .
      </p>
      <table className="worklist-table" data-testid="governance-figures">
        <thead><tr><th>Model</th><th>Version</th><th>Mode</th><th>Modality</th><th>Produced</th><th>Shown</th><th>Not opened</th><th>Hidden</th><th>Superseded</th><th>After sign-off</th><th>Accepted</th><th>Modified</th><th>Rejected</th><th>Unverified</th><th>Agreement</th><th>False-positive rate</th></tr></thead>
        <tbody>
          {figs?.summary.map((f) => (
            <tr key={`${f.model}|${f.version}|${f.mode}|${f.modality}`}>
              <td>{f.model}</td><td>{f.version}</td><td>{f.mode}</td><td>{f.modality}</td><td>{f.produced}</td><td>{f.byVisibility.shown}</td><td>{f.byVisibility['not-opened']}</td>
              <td>{f.byVisibility['hidden-ai-disabled'] + f.byVisibility['hidden-rollout'] + f.byVisibility['hidden-indication']}</td><td>{f.byVisibility.superseded}</td><td>{f.byVisibility['after-signoff']}</td>
              <td>{f.byVerdict.accepted}</td><td>{f.byVerdict.modified}</td><td>{f.byVerdict.rejected}</td><td>{f.byVerdict.unverified}</td><td>{pct(f.agreementRate)}</td><td>{pct(f.falsePositiveRate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

/** Each standing accept / modify / reject as a DICOM SR (assessment of the AI result); PHI inside, so admin only. */
function Assessments() {
  const [rows, setRows] = useState<{ seq: number; studyUID: string; findingId: string; action: string; actor: string; at: string; href: string }[] | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  useEffect(() => void apiJson<{ assessments: NonNullable<typeof rows> }>('/api/governance/assessments').then((r) => setRows(r.assessments.slice(-50).reverse()), (e: Error) => setMsg(e.message)), []);
  return (
    <Section title="AI result assessments (DICOM SR)">
      {msg && <pre className="error-banner">{msg}</pre>}
      {rows && !rows.length && <p className="muted">No verdicts yet.</p>}
      {rows && rows.length > 0 && (
        <table className="worklist-table" data-testid="assessment-srs">
          <thead><tr><th>#</th><th>Study</th><th>Finding</th><th>Verdict</th><th>By</th><th>At</th><th>SR</th></tr></thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.seq}><td>{a.seq}</td><td>{a.studyUID}</td><td>{a.findingId}</td><td>{a.action}</td><td>{a.actor}</td><td>{formatDateTime(a.at)}</td><td><a href={a.href} download>assessment-{a.seq}.dcm</a></td></tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function AuditExport() {
  const today = new Date().toISOString().slice(0, 10);
  const [from, setFrom] = useState(new Date(Date.now() - 7 * 864e5).toISOString().slice(0, 10));
  const [to, setTo] = useState(today);
  const href = (format: string) => {
    const end = new Date(`${to}T00:00:00.000Z`).getTime() + 864e5; // inclusive of the "to" day
    return `/api/audit/export?from=${encodeURIComponent(`${from}T00:00:00.000Z`)}&to=${encodeURIComponent(new Date(end).toISOString())}&format=${format}`;
  };
  return (
    <Section title="Audit export (de-identified)">
      <div style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }}>
        <label>From <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} /></label>
        <label>To <input type="date" value={to} onChange={(e) => setTo(e.target.value)} /></label>
        <a href={href('jsonl')} download>JSON lines</a>
        <a href={href('csv')} download>CSV</a>
        <a href={href('dicom')} download>DICOM audit messages (XML)</a>
      </div>
      <p className="muted">Chain integrity: run <code>npm run audit:verify</code> on the gateway host.</p>
    </Section>
  );
}

export default function AdminPage() {
  const { user } = useSession();
  // What each section needs comes from the one permission table (src/core/auth/permissions.ts).
  const role = user?.role;
  if (!canAny(role, ADMIN_PAGE_ACTIONS)) {
    return (
      <main className="page admin-page">
        <h1>Administration</h1>
        <p className="muted">Your role has no administration rights.</p>
      </main>
    );
  }
  return (
    <main className="page admin-page" style={{ padding: '1rem', overflow: 'auto', height: '100%' }}>
      <h1 style={{ fontSize: '1.3rem' }}>Administration</h1>
      {can(role, 'users.admin') && <Users />}
      {can(role, 'policy.write') && <PolicyEditor />}
      {can(role, 'policy.read') && <Rollout canEdit={can(role, 'policy.write')} />}
      {can(role, 'policy.read') && <Modalities canEdit={can(role, 'policy.write')} />}
      {can(role, 'governance.read') && (
        <Section title="Governance notices (models outside their ranges)">
          <Notices />
        </Section>
      )}
      {can(role, 'governance.read') && <Figures />}
      {can(role, 'governance.assessment-export') && <Assessments />}
      {can(role, 'outbox.admin') && (
        <Section title="Outbox (SR and HL7 delivery)">
          <a href="/api/admin/outbox" target="_blank" rel="noreferrer">Outbox status (JSON)</a>
        </Section>
      )}
      {can(role, 'audit.export') && <AuditExport />}
    </main>
  );
}
