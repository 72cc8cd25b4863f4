/**
 * Critical-finding alerts for the on-call roles (ER attending, radiologist): a fixed panel that lists
 * unacknowledged alerts live (SSE /api/events), names the study and the finding, opens the study in
 * one click and records an acknowledgement. Other roles get nothing: the gateway does not send them
 * alerts, and this component does not ask.
 */
import { useEffect, useState, type CSSProperties } from 'react';
import { apiFetch, apiJson, useSession } from '../auth/api';
import { navigate } from '../app/router';
import { receivesAlerts, type CriticalAlert } from '../core/triage/alerts';

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

const panel: CSSProperties = {
  // Bottom-left: the findings sidebar (right) must stay clickable; the series strip can spare the space.
  position: 'fixed', left: '1rem', bottom: '1rem', zIndex: 1000, width: 'min(24rem, calc(100vw - 2rem))',
  display: 'flex', flexDirection: 'column', gap: '0.5rem',
};
const MAX_CARDS = 2;
const card: CSSProperties = {
  background: 'var(--panel, #14181d)', border: '2px solid var(--critical, #ff4d4f)', borderRadius: 8, padding: '0.7rem 0.8rem',
  boxShadow: '0 4px 18px rgba(0,0,0,0.6)',
};

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
    es.addEventListener('alert-ack', (ev) => {
      try {
        const a = JSON.parse((ev as MessageEvent<string>).data) as CriticalAlert;
        setAlerts((list) => list.filter((x) => x.id !== a.id));
      } catch {
        /* ignore */
      }
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
          <div key={a.id} role="alert" style={card} className="critical-alert" data-study={a.studyUID}>
            <div style={{ display: 'flex', alignItems: 'center', gap: '0.5rem', fontWeight: 700 }}>
              <span className="flag flag-critical" aria-hidden="true" />
              Critical finding: <span className="alert-reason">{a.reason}</span>
            </div>
            <div style={{ margin: '0.3rem 0 0.6rem', fontSize: '0.9rem' }}>
              {l ? (
                <>
                  {l.patient || 'Unknown patient'}
                  {l.description ? ` · ${l.description}` : ''}
                </>
              ) : null}
              <div className="muted" style={{ fontSize: '0.75rem', wordBreak: 'break-all' }} title="Study Instance UID">
                {a.studyUID} · {new Date(a.createdAt).toLocaleTimeString()}
              </div>
            </div>
            <div style={{ display: 'flex', gap: '0.5rem' }}>
              <button type="button" className="on" onClick={() => navigate(a.url)}>
                Open
              </button>
              <button type="button" onClick={() => void ack(a)}>
                Acknowledge
              </button>
            </div>
          </div>
        );
      })}
      {pending.length > shown.length && (
        <div className="muted" role="status">
          +{pending.length - shown.length} more critical alert{pending.length - shown.length > 1 ? 's' : ''}
        </div>
      )}
      {error && <div role="status" className="muted">{error}</div>}
    </section>
  );
}
