import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { searchStudies, DicomWebError } from '../dicomweb/client';
import { apiFetch } from '../auth/api';
import { navigate } from '../app/router';
import { loadViewerModule, prefetchStudy } from '../app/preload';
import { startEarlyKeys } from '../app/earlyKeys';
import {
  DEFAULT_SORT,
  filterRows,
  finalSummary,
  flagOf,
  reportInFlight,
  mergeTriage,
  moveSelection,
  rowFromQido,
  selectedIndex,
  sortRows,
  timeSince,
  type Priority,
  type SortKey,
  type SortState,
  type TriageInfo,
  type WorklistRow,
} from './model';

const PREFS_KEY = 'rs.worklist.prefs';

function loadPrefs(): { sort: SortState; filter: string } {
  try {
    const p = JSON.parse(localStorage.getItem(PREFS_KEY) ?? 'null') as { sort?: SortState; filter?: string } | null;
    return { sort: p?.sort?.key ? p.sort : DEFAULT_SORT, filter: typeof p?.filter === 'string' ? p.filter : '' };
  } catch {
    return { sort: DEFAULT_SORT, filter: '' };
  }
}

const COLUMNS: { key: SortKey; label: string; className?: string }[] = [
  { key: 'priority', label: 'Flag', className: 'col-flag' },
  { key: 'patientName', label: 'Patient' },
  { key: 'patientId', label: 'Patient ID' },
  { key: 'modalities', label: 'Modality' },
  { key: 'description', label: 'Description' },
  { key: 'date', label: 'Date' },
  { key: 'images', label: 'Images', className: 'num' },
  { key: 'arrived', label: 'Waiting' },
];

const PRIORITY_LABEL: Record<Priority, string> = { critical: 'Critical', urgent: 'Urgent', routine: 'Routine', none: '' };
const FINAL_STYLE = { fontSize: '0.75rem', color: 'var(--muted)', border: '1px solid var(--line)', borderRadius: 4, padding: '0 0.3rem' } as const;

function useTriage(): Record<string, TriageInfo> {
  const [triage, setTriage] = useState<Record<string, TriageInfo>>({});
  useEffect(() => {
    let closed = false;
    // The triage service is optional: a 404 (not installed) or any failure leaves the list unflagged.
    apiFetch('/api/triage')
      .then(async (r) => {
        if (!r.ok || closed) return;
        const body = (await r.json()) as { studies?: Record<string, TriageInfo> };
        if (body?.studies && !closed) setTriage((t) => ({ ...body.studies, ...t }));
      })
      .catch(() => {});
    let es: EventSource | null = null;
    try {
      es = new EventSource('/api/events');
      // Each (re)connection starts with 'hello': after a dropped stream, re-read the list so nothing missed stays shown.
      let hellos = 0;
      es.addEventListener('hello', () => {
        if (hellos++ === 0) return;
        apiFetch('/api/triage')
          .then(async (r) => {
            if (!r.ok || closed) return;
            const body = (await r.json()) as { studies?: Record<string, TriageInfo> };
            if (body?.studies && !closed) setTriage((t) => ({ ...t, ...body.studies }));
          })
          .catch(() => {});
      });
      es.addEventListener('triage', (ev) => {
        try {
          // The entry as this reader's role may see it (the gateway applied the policy): it replaces the old
          // one whole, so a flag cleared by a rejection, sign-off, AI disable or rollout change goes at once.
          const d = JSON.parse((ev as MessageEvent<string>).data) as TriageInfo & { studyUID: string };
          if (d?.studyUID) setTriage((t) => ({ ...t, [d.studyUID]: { priority: d.priority, reason: d.reason, arrivedAt: d.arrivedAt, aiState: d.aiState, status: d.status, signedBy: d.signedBy, report: d.report } }));
        } catch {
          /* malformed event: ignore it, keep the list */
        }
      });
      // Without the events endpoint the browser would retry forever; one failure before any open is enough.
      let opened = false;
      es.onopen = () => {
        opened = true;
      };
      es.onerror = () => {
        if (!opened) es?.close();
      };
    } catch {
      /* no EventSource */
    }
    return () => {
      closed = true;
      es?.close();
    };
  }, []);
  // A signed-off study's SR and ORU travel through the outbox after the sign-off event: while one is
  // on its way, re-read the list every few seconds so the row shows when it arrived.
  const inFlight = Object.values(triage).some(reportInFlight);
  useEffect(() => {
    if (!inFlight) return;
    let closed = false;
    const t = setInterval(() => {
      apiFetch('/api/triage')
        .then(async (r) => {
          if (!r.ok || closed) return;
          const body = (await r.json()) as { studies?: Record<string, TriageInfo> };
          if (body?.studies && !closed) setTriage((cur) => ({ ...cur, ...body.studies }));
        })
        .catch(() => {});
    }, 4000);
    return () => {
      closed = true;
      clearInterval(t);
    };
  }, [inFlight]);
  return triage;
}

export function WorklistPage() {
  const [studies, setStudies] = useState<WorklistRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [prefs, setPrefs] = useState(loadPrefs);
  const [selectedUid, setSelectedUid] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const triage = useTriage();
  const tableRef = useRef<HTMLTableSectionElement>(null);

  const load = useCallback(() => {
    setError(null);
    searchStudies()
      .then((list) => setStudies(list.map(rowFromQido)))
      .catch((e: unknown) => setError(e instanceof DicomWebError ? e.message : 'The study list could not be loaded.'));
  }, []);

  useEffect(() => {
    load();
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, [load]);

  useEffect(() => {
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  }, [prefs]);

  // A triage event for a study the list does not have yet means a new arrival: re-query (no reload),
  // once per unknown study so that a triage entry for a study gone from the PACS cannot loop.
  const requeried = useRef(new Set<string>());
  useEffect(() => {
    if (!studies) return;
    const known = new Set(studies.map((r) => r.studyUID));
    const fresh = Object.keys(triage).filter((uid) => !known.has(uid) && !requeried.current.has(uid));
    if (fresh.length) {
      const t = setTimeout(() => {
        fresh.forEach((uid) => requeried.current.add(uid));
        load();
      }, 300);
      return () => clearTimeout(t);
    }
  }, [triage, studies, load]);

  const rows = useMemo(() => sortRows(filterRows(mergeTriage(studies ?? [], triage), prefs.filter), prefs.sort), [studies, triage, prefs]);

  const selected = selectedIndex(rows, selectedUid);

  const open = (r: WorklistRow | undefined) => {
    if (!r) return;
    void loadViewerModule();
    prefetchStudy(r.studyUID);
    startEarlyKeys();
    navigate(`/viewer/${r.studyUID}`);
  };

  const setSort = (key: SortKey) =>
    setPrefs((p) => ({ ...p, sort: p.sort.key === key ? { key, dir: p.sort.dir === 'asc' ? 'desc' : 'asc' } : { key, dir: 'asc' } }));

  const onKeyDown = (e: KeyboardEvent) => {
    if ((e.target as HTMLElement).tagName === 'INPUT') {
      if (e.key === 'ArrowDown' || e.key === 'Enter') {
        (tableRef.current?.querySelector('tr') as HTMLElement | null)?.focus();
        e.preventDefault();
      }
      return;
    }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp' || e.key === 'Home' || e.key === 'End') setSelectedUid(moveSelection(rows, selectedUid, e.key));
    else if (e.key === 'Enter') open(rows[selected]);
    else return;
    e.preventDefault();
  };

  useEffect(() => {
    const tr = tableRef.current?.querySelectorAll('tr')[selected] as HTMLElement | undefined;
    if (tr && tableRef.current?.contains(document.activeElement)) tr.focus();
  }, [selected]);

  // Focus the first row on arrival so arrow keys work straight away.
  useEffect(() => {
    if (studies && !document.activeElement?.closest('.worklist')) (tableRef.current?.querySelector('tr') as HTMLElement | null)?.focus();
  }, [studies]);

  return (
    <main className="worklist page" onKeyDown={onKeyDown}>
      <div className="worklist-bar">
        <h1>Worklist</h1>
        <input
          type="search"
          placeholder="Filter: name, ID, modality, description…"
          aria-label="Filter studies"
          value={prefs.filter}
          onChange={(e) => setPrefs((p) => ({ ...p, filter: e.target.value }))}
        />
        <button type="button" onClick={load}>
          Refresh
        </button>
        <span className="count">{studies ? `${rows.length} of ${studies.length} studies` : ''}</span>
      </div>
      {error && (
        <div className="error-banner" role="alert">
          {error}
        </div>
      )}
      {!studies && !error && <p className="muted">Loading studies…</p>}
      {studies && studies.length === 0 && <p className="muted">No studies on the PACS yet.</p>}
      {studies && studies.length > 0 && (
        <table className="worklist-table">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th key={c.key} className={c.className} aria-sort={prefs.sort.key === c.key ? (prefs.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
                  <button type="button" onClick={() => setSort(c.key)} data-sort={c.key}>
                    {c.label}
                    {prefs.sort.key === c.key ? (prefs.sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody ref={tableRef}>
            {rows.map((r, i) => {
              const p = flagOf(r);
              const final = r.triage?.status === 'final';
              return (
                <tr
                  key={r.studyUID}
                  tabIndex={0}
                  data-study-uid={r.studyUID}
                  className={`${i === selected ? 'selected' : ''} prio-${p}`}
                  aria-selected={i === selected}
                  onClick={() => setSelectedUid(r.studyUID)}
                  onFocus={() => setSelectedUid(r.studyUID)}
                  onDoubleClick={() => open(r)}
                >
                  <td className="col-flag">
                    {final ? (
                      <span
                        className="study-final"
                        data-testid="study-final"
                        data-sr={r.triage?.report?.srState ?? 'none'}
                        data-oru={r.triage?.report?.oruState ?? 'none'}
                        title={finalSummary(r.triage) ?? 'Signed off'}
                        aria-label={`Final: ${finalSummary(r.triage) ?? ''}`}
                        style={FINAL_STYLE}
                      >
                        Final
                      </span>
                    ) : (
                      p !== 'none' && <span className={`flag flag-${p}`} title={r.triage?.reason || PRIORITY_LABEL[p]} aria-label={`${PRIORITY_LABEL[p]}: ${r.triage?.reason ?? ''}`} />
                    )}
                  </td>
                  <td>{r.patientName}</td>
                  <td>{r.patientId}</td>
                  <td>{r.modalities}</td>
                  <td>{r.description}</td>
                  <td>{r.date}</td>
                  <td className="num">{r.images}</td>
                  <td>{timeSince(r.triage?.arrivedAt, now)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <p className="hint">↑ ↓ move · Enter or double-click opens · click a column to sort</p>
    </main>
  );
}
