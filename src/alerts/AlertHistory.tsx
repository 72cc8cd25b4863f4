/**
 * The alert history on the worklist: every critical-result alert this role may see, newest first, with what
 * became of it (open, acknowledged by whom, or closed by the system and why: the finding rejected, the study
 * signed off, AI switched off...). Read from the gateway on opening and on every alert event.
 */
import { useCallback, useEffect, useState } from 'react';
import { apiJson, useSession } from '../auth/api';
import { can } from '../core/auth/permissions';
import { navigate } from '../app/router';
import { formatDateTime } from '../core/format/dates';

interface HistoryEntry {
  id: string;
  studyUID: string;
  reason: string;
  createdAt: string;
  ackedBy: string | null;
  ackedAt: string | null;
  closedAt: string | null;
  closedReason: string | null;
}

const CLOSED_WHY: Record<string, string> = {
  rejected: 'finding rejected',
  'signed-off': 'study signed off',
  'ai-disabled': 'AI switched off for the study',
  rollout: 'model rollout changed',
  'findings-changed': 'findings changed',
  policy: 'role policy changed',
};

/** THE date-time format (src/core/format/dates.ts), re-exported for this module's callers. */
export { formatDateTime };

export function stateOf(a: Pick<HistoryEntry, 'ackedBy' | 'ackedAt' | 'closedAt' | 'closedReason'>): string {
  if (a.closedAt) return `Closed ${formatDateTime(a.closedAt)} (${CLOSED_WHY[a.closedReason ?? ''] ?? a.closedReason ?? 'closed'})`;
  if (a.ackedAt) return `Acknowledged by ${a.ackedBy ?? '?'} ${formatDateTime(a.ackedAt)}`;
  return 'Open';
}

export function AlertHistory({ patientOf }: { patientOf: (studyUID: string) => string }) {
  const { user } = useSession();
  const enabled = can(user?.role, 'alerts.read');
  const [open, setOpen] = useState(false);
  const [list, setList] = useState<HistoryEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    apiJson<{ alerts: HistoryEntry[] }>('/api/alerts/history')
      .then((b) => {
        setList(b.alerts);
        setError(null);
      })
      .catch((e: Error) => setError(`Alert history could not be loaded: ${e.message}`));
  }, []);
  useEffect(() => {
    if (!enabled || !open) return;
    load();
    const es = new EventSource('/api/events');
    for (const ev of ['alert', 'alert-ack', 'alert-closed']) es.addEventListener(ev, load);
    return () => es.close();
  }, [enabled, open, load]);
  if (!enabled) return null;
  return (
    <details className="wl-alert-history" onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>Alert history</summary>
      {error && <p role="alert">{error}</p>}
      {list && list.length === 0 && <p className="muted">No alerts.</p>}
      {list && list.length > 0 && (
        <table className="worklist-table" aria-label="Alert history">
          <thead>
            <tr>
              <th>Raised</th>
              <th>Patient</th>
              <th>Reason</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id} data-alert-id={a.id} data-study-uid={a.studyUID} data-state={a.closedAt ? 'closed' : a.ackedAt ? 'acknowledged' : 'open'}>
                <td>{formatDateTime(a.createdAt)}</td>
                <td>{patientOf(a.studyUID)}</td>
                <td>{a.reason || '—'}</td>
                <td>{stateOf(a)}</td>
                <td>
                  <button type="button" onClick={() => navigate(`/viewer/${a.studyUID}`)}>
                    Open
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}
