/**
 * Governance alert rules (the ranges each model is held to) and the notices raised when a model
 * leaves one. Shown on the governance page (rules editable with governance.write) and, the notices,
 * on the admin page: both roles are notified.
 */
import { useCallback, useEffect, useState } from 'react';
import { apiFetch, apiJson, useSession } from '../auth/api';
import { can } from '../core/auth/permissions';
import { formatDateTime } from '../core/format/dates';
import type { AlertRules } from '../core/governance/rules';

interface RulesResp { rules: AlertRules; version: number; changedBy: string; changedAt: string | null }
export interface NoticeRow { key: string; model: string; version: string; mode: string; modality: string; week: string; metric: string; kind: string; value: number; message: string; createdAt: string; ackedBy: string | null }

async function errorText(r: Response): Promise<string> {
  const j = (await r.json().catch(() => ({}))) as { error?: string; details?: unknown };
  return [j.error ?? `${r.status}`, ...(Array.isArray(j.details) ? j.details.map(String) : [])].join('\n');
}

export function Notices() {
  const { user } = useSession();
  const [notices, setNotices] = useState<NoticeRow[] | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  const load = useCallback(() => apiJson<{ notices: NoticeRow[] }>('/api/governance/notices').then((r) => setNotices(r.notices), (e: Error) => setMsg(e.message)), []);
  useEffect(() => void load(), [load]);
  const ack = async (key: string) => {
    const r = await apiFetch(`/api/governance/notices/${encodeURIComponent(key)}/ack`, { method: 'POST', body: '{}' });
    setMsg(r.ok ? null : await errorText(r));
    await load();
  };
  return (
    <div data-testid="governance-notices">
      {msg && <pre className="error-banner">{msg}</pre>}
      {notices && !notices.length && <p className="muted">No model is outside its ranges.</p>}
      <ul className="gov-notices">
        {notices?.map((n) => (
          <li key={n.key} data-kind={n.kind} data-metric={n.metric} data-model={n.model}>
            <span>{n.message}</span>{' '}
            {can(user?.role, 'governance.write') && (
              <button type="button" onClick={() => void ack(n.key)}>
                Acknowledge
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

const FIELDS: { label: string; get: (r: AlertRules) => number; set: (r: AlertRules, v: number) => AlertRules }[] = [
  { label: 'False-positive rate from (%)', get: (r) => r.falsePositiveRate.min, set: (r, v) => ({ ...r, falsePositiveRate: { ...r.falsePositiveRate, min: v } }) },
  { label: 'False-positive rate to (%)', get: (r) => r.falsePositiveRate.max, set: (r, v) => ({ ...r, falsePositiveRate: { ...r.falsePositiveRate, max: v } }) },
  { label: 'Retrain above (%)', get: (r) => r.retrainAbove, set: (r, v) => ({ ...r, retrainAbove: v }) },
  { label: 'Critical sensitivity at least (%)', get: (r) => r.criticalSensitivityMin, set: (r, v) => ({ ...r, criticalSensitivityMin: v }) },
  { label: 'Uptime at least (%)', get: (r) => r.uptimeMin, set: (r, v) => ({ ...r, uptimeMin: v }) },
  { label: 'Utilisation from (%)', get: (r) => r.utilisation.min, set: (r, v) => ({ ...r, utilisation: { ...r.utilisation, min: v } }) },
  { label: 'Utilisation to (%)', get: (r) => r.utilisation.max, set: (r, v) => ({ ...r, utilisation: { ...r.utilisation, max: v } }) },
  { label: 'Drift distance at most (%)', get: (r) => r.driftMaxDistance ?? 0.3, set: (r, v) => ({ ...r, driftMaxDistance: v }) },
];

export function RulesEditor({ onSaved }: { onSaved: () => void }) {
  const { user } = useSession();
  const editable = can(user?.role, 'governance.write');
  const [resp, setResp] = useState<RulesResp | null>(null);
  const [draft, setDraft] = useState<AlertRules | null>(null);
  const [msg, setMsg] = useState<string | null>(null);
  const load = useCallback(
    () =>
      apiJson<RulesResp>('/api/governance/rules').then(
        (r) => {
          setResp(r);
          setDraft(r.rules);
        },
        (e: Error) => setMsg(e.message),
      ),
    [],
  );
  useEffect(() => void load(), [load]);
  if (!draft || !resp) return msg ? <pre className="error-banner">{msg}</pre> : null;
  const save = async () => {
    const r = await apiFetch('/api/governance/rules', { method: 'PUT', body: JSON.stringify({ rules: draft, baseVersion: resp.version }) });
    if (r.ok) {
      const j = (await r.json()) as { raised: number };
      setMsg(`Saved. ${j.raised} new notice(s).`);
      await load();
      onSaved();
    } else setMsg(await errorText(r));
  };
  return (
    <div data-testid="governance-rules">
      <div className="gov-rules">
        {FIELDS.map((f) => (
          <label key={f.label}>
            {f.label}
            <input
              type="number"
              step="0.1"
              min="0"
              max="100"
              disabled={!editable}
              aria-label={f.label}
              value={Math.round(f.get(draft) * 1000) / 10}
              onChange={(e) => setDraft(f.set(draft, Number(e.target.value) / 100))}
            />
          </label>
        ))}
        <label>
          Smallest sample judged
          <input type="number" min="1" step="1" disabled={!editable} aria-label="Smallest sample judged" value={draft.minSample} onChange={(e) => setDraft({ ...draft, minSample: Math.max(1, Math.floor(Number(e.target.value))) })} />
        </label>
      </div>
      <p className="muted">
        Version {resp.version} {resp.changedAt ? `by ${resp.changedBy}, ${formatDateTime(resp.changedAt)}` : '(the deployment defaults)'}
        {editable && (
          <>
            {' '}
            <button type="button" onClick={() => void save()} data-testid="governance-rules-save">
              Save rules
            </button>
          </>
        )}
      </p>
      {msg && <pre className={msg.startsWith('Saved') ? 'muted' : 'error-banner'}>{msg}</pre>}
    </div>
  );
}
