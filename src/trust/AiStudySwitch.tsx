/**
 * Viewer toolbar item: why AI is (or is not) shown for this study, and for a radiologist a
 * "Disable AI for this study" control with a reason picked from a short inline menu (no modal).
 * The gateway is the authority: this only asks it and shows its answer.
 */
import { useCallback, useEffect, useState } from 'react';
import type { ViewerContext } from '../viewer/extensions';
import { apiFetch, apiJson, useSession } from '../auth/api';
import { can } from '../core/auth/permissions';
import { AI_DISABLE_REASONS, type AiDisableReason } from '../core/policy/policy';
import { loadFindings } from '../findings/api';

interface AiStatus {
  aiEnabled: boolean;
  summary: string;
  disabled: { scope: 'study' | 'modality'; reason: string; by?: string } | null;
  models: { name: string; state: string; reason?: string }[];
}

export function AiStudySwitch({ ctx }: { ctx: ViewerContext }) {
  const { user } = useSession();
  const study = ctx.studyInstanceUID;
  const [status, setStatus] = useState<AiStatus | null>(null);
  const [menu, setMenu] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const refresh = useCallback(async () => {
    try {
      setStatus(await apiJson<AiStatus>(`/api/studies/${study}/ai-status`));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [study]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const change = async (method: 'POST' | 'DELETE', reason?: AiDisableReason) => {
    setBusy(true);
    setMenu(false);
    try {
      const r = await apiFetch(`/api/studies/${study}/ai-disabled`, { method, body: reason ? JSON.stringify({ reason }) : undefined });
      if (!r.ok) setError(((await r.json().catch(() => ({}))) as { error?: string }).error ?? `${r.status}`);
      await refresh();
      // The findings list is filtered by the gateway: ask it again so the marks follow the switch.
      await loadFindings(study).catch(() => {});
    } finally {
      setBusy(false);
    }
  };

  const canSwitch = can(user?.role, 'study.ai-disable');
  const studyDisabled = status?.disabled?.scope === 'study';
  const style = { font: '12px system-ui, sans-serif', color: '#ddd', display: 'flex', gap: 6, alignItems: 'center', position: 'relative' as const };
  return (
    <div role="group" aria-label="AI for this study" data-testid="ai-study-switch" style={style}>
      <span data-testid="ai-status-summary" title={status?.models.map((m) => `${m.name}: ${m.state}${m.reason ? ` (${m.reason})` : ''}`).join('\n')} style={{ color: status && !status.aiEnabled ? '#ffa940' : '#8994a3', maxWidth: 320, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
        {error ? `AI status unavailable: ${error}` : status ? status.summary : 'AI status…'}
      </span>
      {canSwitch && status && (studyDisabled ? (
        <button type="button" data-testid="ai-enable-study" disabled={busy} onClick={() => void change('DELETE')}>
          Re-enable AI
        </button>
      ) : (
        <button type="button" data-testid="ai-disable-study" aria-expanded={menu} disabled={busy} onClick={() => setMenu(!menu)}>
          Disable AI for this study
        </button>
      ))}
      {menu && (
        <ul role="menu" aria-label="Reason for disabling AI" style={{ position: 'absolute', top: '100%', right: 0, zIndex: 20, margin: 0, padding: 4, listStyle: 'none', background: '#1b2027', border: '1px solid #2a313a', borderRadius: 6, minWidth: 280 }}>
          {(Object.entries(AI_DISABLE_REASONS) as [AiDisableReason, string][]).map(([id, label]) => (
            <li key={id} role="none">
              <button type="button" role="menuitem" data-reason={id} style={{ width: '100%', textAlign: 'left', background: 'none', border: 'none', padding: '4px 8px', color: '#ddd' }} onClick={() => void change('POST', id)}>
                {label}
              </button>
            </li>
          ))}
          <li role="none">
            <button type="button" role="menuitem" style={{ width: '100%', textAlign: 'left', background: 'none', border: 'none', padding: '4px 8px', color: '#8994a3' }} onClick={() => setMenu(false)}>
              Cancel
            </button>
          </li>
        </ul>
      )}
    </div>
  );
}
