/**
 * Critical-finding alerts for the on-call roles (ER attending, radiologist): a fixed panel that lists
 * unacknowledged alerts live (SSE /api/events), names the study and the finding, opens the study in
 * one click and records an acknowledgement. Other roles get nothing: the gateway does not send them
 * alerts, and this component does not ask.
 */
import { useEffect, useState, type CSSProperties } from 'react';
import { apiFetch, apiJson, closeStreamIfSignedOut, useSession } from '../auth/api';
import { navigate } from '../app/router';
import { formatDateTime } from '../core/format/dates';
import { receivesAlerts, type CriticalAlert } from '../core/triage/alerts';
import { severityShape, severityWord } from '../core/report/severity';

interface StudyLabel {
  patient: string;
  description: string;
}

function personName(v: unknown): string {
  const pn = (v as { Value?: { Alphabetic?: string }[] } | undefined)?.Value?.[0]?.Alphabetic ?? '';
  return pn.split('^').filter(Boolean).join(' ');
}

async function studyLabel(uid: string): Promise<StudyLabel | null> {
  const r = await apiFetch(`/dicom-web/studies?StudyInstanceUID=${encodeURIComponent(uid)}&includefield=00081030`);
  if (!r.ok) return null;
  const [s] = (await r.json()) as Record<string, { Value?: unknown[] }>[];
  if (!s) return null;
  return { patient: personName(s['00100010']), description: String(s['00081030']?.Value?.[0] ?? '') };
}

// In the header bar's free middle (the header lays it out between its links and the user): it covers
// neither the image, the series list, the findings sidebar nor the user's name. One alert at a time
// (newest first), the rest counted.
const panel: CSSProperties = {
  display: 'flex', alignItems: 'center', justifyContent: 'center', gap: '0.5rem', minWidth: 0, maxWidth: '100%',
};
const card: CSSProperties = {
  background: 'var(--panel, #14181d)', border: '2px solid var(--critical, #ff4d4f)', borderRadius: 6, padding: '0.15rem 0.5rem',
  display: 'flex', alignItems: 'center', gap: '0.5rem', whiteSpace: 'nowrap', overflow: 'hidden', minWidth: 0,
};
const compact: CSSProperties = { padding: '0.05rem 0.5rem', fontSize: '0.85rem', flex: 'none' };
const srOnly: CSSProperties = { position: 'absolute', width: 1, height: 1, overflow: 'hidden', clip: 'rect(0 0 0 0)', whiteSpace: 'nowrap' };
const MAX_CARDS = 1;

export default function AlertCenter() {
  const { user } = useSession();
  const enabled = !!user && receivesAlerts(user.role);
  const [alerts, setAlerts] = useState<CriticalAlert[]>([]);
  const [labels, setLabels] = useState<Record<string, StudyLabel>>({});
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!enabled) {
      setAlerts([]);
      return;
    }
    let closed = false;
    const add = (a: CriticalAlert) => setAlerts((list) => (list.some((x) => x.id === a.id) ? list : [a, ...list]));
    apiJson<{ alerts: CriticalAlert[] }>('/api/alerts')
      .then((b) => !closed && b.alerts.forEach(add))
      .catch(() => {});
    const es = new EventSource('/api/events');
    es.addEventListener('alert', (ev) => {
      try {
        add(JSON.parse((ev as MessageEvent<string>).data) as CriticalAlert);
      } catch {
        /* malformed event: ignore */
      }
    });
    // Acknowledged by someone, or closed by the system (the finding was rejected, the study signed off,
    // AI switched off for it, the model set to silent/off): the card goes at once, on every open page.
    const drop = (ev: Event) => {
      try {
        const a = JSON.parse((ev as MessageEvent<string>).data) as Pick<CriticalAlert, 'id'>;
        setAlerts((list) => list.filter((x) => x.id !== a.id));
      } catch {
        /* ignore */
      }
    };
    // The stream ended because the session did: stop reconnecting, the shell goes to log-in.
    es.onerror = () => void closeStreamIfSignedOut(es);
    es.addEventListener('alert-ack', drop);
    es.addEventListener('alert-closed', drop);
    // After a dropped stream ('hello' again), re-read the open alerts: one may have closed meanwhile.
    let hellos = 0;
    es.addEventListener('hello', () => {
      if (hellos++ === 0) return;
      apiJson<{ alerts: CriticalAlert[] }>('/api/alerts')
        .then((b) => !closed && setAlerts(b.alerts))
        .catch(() => {});
    });
    return () => {
      closed = true;
      es.close();
    };
  }, [enabled]);

  useEffect(() => {
    for (const a of alerts) {
      if (labels[a.studyUID]) continue;
      void studyLabel(a.studyUID).then((l) => l && setLabels((m) => ({ ...m, [a.studyUID]: l })));
    }
  }, [alerts, labels]);

  // More than two cards would cover the images: the rest are counted, newest first on top.
  const pending = alerts;
  if (!enabled || pending.length === 0) return null;
  const shown = pending.slice(0, MAX_CARDS);

  const ack = async (a: CriticalAlert) => {
    const r = await apiFetch(`/api/alerts/${a.id}/ack`, { method: 'POST' });
    if (r.ok) {
      setError(null);
      setAlerts((list) => list.filter((x) => x.id !== a.id));
    } else setError(`Acknowledge failed (${r.status})`);
  };

  return (
    <section style={panel} aria-label="Critical findings" className="alert-center">
      {shown.map((a) => {
        const l = labels[a.studyUID];
        return (
          <div key={a.id} role="alert" style={card} className="critical-alert" data-study={a.studyUID} title={`Study ${a.studyUID}`}>
            <span aria-hidden="true" style={{ color: 'var(--critical, #ff4d4f)', flex: 'none' }}>
              {severityShape('critical')}
            </span>
            <strong style={{ flex: 'none' }}>
              {severityWord('critical')}: <span className="alert-reason">{a.reason}</span>
            </strong>
            <span style={{ overflow: 'hidden', textOverflow: 'ellipsis', minWidth: 0 }}>
              {l ? `${l.patient || 'Unknown patient'}${l.description ? ` · ${l.description}` : ''}` : ''} · {formatDateTime(a.createdAt)}
            </span>
            <span style={srOnly}>Study Instance UID {a.studyUID}</span>
            <button type="button" className="on" style={compact} onClick={() => navigate(a.url)}>
              Open
            </button>
            <button type="button" style={compact} onClick={() => void ack(a)}>
              Acknowledge
            </button>
          </div>
        );
      })}
      {pending.length > shown.length && (
        <span className="muted" role="status">
          +{pending.length - shown.length} more
        </span>
      )}
      {error && <span role="status" className="muted">{error}</span>}
    </section>
  );
}
