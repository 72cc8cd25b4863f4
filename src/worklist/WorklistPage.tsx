import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { searchStudies, DicomWebError } from '../dicomweb/client';
import { apiFetch, apiJson, closeStreamIfSignedOut } from '../auth/api';
import { navigate } from '../app/router';
import { loadViewerModule, prefetchStudy } from '../app/preload';
import { startEarlyKeys } from '../app/earlyKeys';
import { SEVERITY_LEGEND, severityShape, severityWord } from '../core/report/severity';
import './worklist.css';
import { bodyPartsByStudy } from '../core/study/facts';
import type { DicomJson } from '../core/imaging/dicomJson';
import { AlertHistory } from '../alerts/AlertHistory';
import {
  DEFAULT_SORT,
  NO_FILTERS,
  READ_STATUSES,
  STATUS_WORD,
  filterRows,
  modalitiesOf,
  reasonOf,
  statusOf,
  type RowFilters,
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

interface Prefs {
  sort: SortState;
  filter: string;
  filters: RowFilters;
}

function loadPrefs(): Prefs {
  try {
    const p = JSON.parse(localStorage.getItem(PREFS_KEY) ?? 'null') as Partial<Prefs> | null;
    return {
      sort: p?.sort?.key ? p.sort : DEFAULT_SORT,
      filter: typeof p?.filter === 'string' ? p.filter : '',
      filters: { ...NO_FILTERS, ...(p?.filters && typeof p.filters === 'object' ? p.filters : {}) },
    };
  } catch {
    return { sort: DEFAULT_SORT, filter: '', filters: NO_FILTERS };
  }
}

/**
 * Each study's body part from its image series (one series-level query for the list): the study-level
 * attribute is lost once an AI SR is in the study. Empty (fall back to the study level) if the query fails.
 */
async function seriesBodyParts(): Promise<Map<string, string>> {
  try {
    const q = ['0020000D', '00080060', '00180015', '00201209'].map((f) => `includefield=${f}`).join('&');
    const r = await apiFetch(`/dicom-web/series?${q}&limit=5000`, { headers: { accept: 'application/dicom+json' } });
    if (!r.ok || r.status === 204) return new Map();
    const body = (await r.json()) as unknown;
    return Array.isArray(body) ? bodyPartsByStudy(body as DicomJson[]) : new Map();
  } catch {
    return new Map();
  }
}

const COLUMNS: { key: SortKey; label: string; className?: string }[] = [
  { key: 'priority', label: 'Priority · reason', className: 'col-flag' },
  { key: 'patientName', label: 'Patient' },
  { key: 'ageSex', label: 'Age/Sex' },
  { key: 'accession', label: 'Accession' },
  { key: 'modalities', label: 'Modality · body part' },
  { key: 'description', label: 'Description' },
  { key: 'date', label: 'Study date' },
  { key: 'status', label: 'Status' },
  { key: 'arrived', label: 'Waiting' },
];

const PRIORITY_OPTIONS: Priority[] = ['critical', 'urgent', 'routine', 'none'];

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
          if (d?.studyUID) setTriage((t) => ({ ...t, [d.studyUID]: { priority: d.priority, reason: d.reason, arrivedAt: d.arrivedAt, aiState: d.aiState, status: d.status, signedBy: d.signedBy, report: d.report, afterSignoff: d.afterSignoff } }));
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
        // Ended because the session did (logged out, expired, idle, role changed): no retrying, go to log-in.
        else if (es) void closeStreamIfSignedOut(es);
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
    Promise.all([searchStudies(), seriesBodyParts()])
      .then(([list, parts]) => setStudies(list.map((ds) => rowFromQido(ds, parts))))
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

  // In progress: a reader opened the study (the server recorded it when the viewer fetched its findings)
  // or saved a draft, until sign-off. The server's record, so every user's worklist says the same; re-read
  // with the list, on every triage change and on the clock tick.
  const [started, setStarted] = useState<ReadonlySet<string>>(() => new Set());
  useEffect(() => {
    if (!studies) return;
    let closed = false;
    apiJson<{ studies: { studyUID: string }[] }>('/api/reports/in-progress')
      .then((b) => !closed && setStarted(new Set(b.studies.map((x) => x.studyUID))))
      .catch(() => {});
    return () => {
      closed = true;
    };
  }, [studies, triage, now]);
  const [help, setHelp] = useState(false);
  const merged = useMemo(() => mergeTriage(studies ?? [], triage), [studies, triage]);
  const rows = useMemo(() => sortRows(filterRows(merged, prefs.filter, prefs.filters, started), prefs.sort, started), [merged, prefs, started]);
  const modalities = useMemo(() => modalitiesOf(studies ?? []), [studies]);
  const setFilter = (k: keyof RowFilters, v: string) => setPrefs((p) => ({ ...p, filters: { ...p.filters, [k]: v } }));

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
    if (e.key === 'Escape' && help) {
      setHelp(false);
      e.preventDefault();
      return;
    }
    const tag = (e.target as HTMLElement).tagName;
    if (tag === 'SELECT') return;
    if (e.key === '?' && tag !== 'INPUT') {
      setHelp((h) => !h);
      e.preventDefault();
      return;
    }
    if (tag === 'INPUT') {
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
        <label className="wl-filter">
          Modality{' '}
          <select aria-label="Modality filter" value={prefs.filters.modality} onChange={(e) => setFilter('modality', e.target.value)}>
            <option value="">any</option>
            {modalities.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label className="wl-filter">
          Status{' '}
          <select aria-label="Status filter" value={prefs.filters.status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">any</option>
            {READ_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_WORD[s]}
              </option>
            ))}
          </select>
        </label>
        <label className="wl-filter">
          Priority{' '}
          <select aria-label="Priority filter" value={prefs.filters.priority} onChange={(e) => setFilter('priority', e.target.value)}>
            <option value="">any</option>
            {PRIORITY_OPTIONS.map((p) => (
              <option key={p} value={p}>
                {p === 'none' ? 'No flag' : severityWord(p)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={load}>
          Refresh
        </button>
        <button type="button" onClick={() => setHelp((h) => !h)} aria-expanded={help} aria-label="Help (?)">
          ?
        </button>
        <span className="count">{studies ? `${rows.length} of ${studies.length} studies` : ''}</span>
      </div>
      <ul className="wl-legend" aria-label="Legend">
        {SEVERITY_LEGEND.map((l) => (
          <li key={l.level}>
            <span className={`wl-flag wl-legend-flag wl-flag-${l.level}`}>
              <span aria-hidden="true">{l.shape}</span> {l.word}
            </span>{' '}
            <span className="muted">{l.meaning}</span>
          </li>
        ))}
        <li>
          <span className="wl-status wl-status-final">Final</span> <span className="muted">signed off; AI flag closed</span>
        </li>
      </ul>
      {help && (
        <section className="wl-help" role="dialog" aria-label="Worklist help">
          <h2>Worklist keys</h2>
          <dl>
            <dt>↑ ↓ Home End</dt>
            <dd>move the selection</dd>
            <dt>Enter</dt>
            <dd>open the selected study</dd>
            <dt>?</dt>
            <dd>show or hide this help (Esc closes)</dd>
          </dl>
          <p>
            Order: priority (Critical ▲, Urgent ◆, Routine ●, then no flag), then the study waiting longest. The reason beside the flag is the AI finding that set it,
            with its confidence; it is a suggestion until a radiologist accepts it. Status: Unread, AI pending (the AI is still reading), AI unavailable (no AI
            result; read it as usual), In progress (opened), Final (signed off).
          </p>
        </section>
      )}
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
              const status = statusOf(r, started);
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
                    {p !== 'none' && (
                      <span className={`wl-flag flag flag-${p}`} data-priority={p} title={reasonOf(r)}>
                        <span aria-hidden="true">{severityShape(p)}</span> {severityWord(p)}
                      </span>
                    )}{' '}
                    {p !== 'none' && <span className="wl-reason" data-testid="row-reason">{reasonOf(r)}</span>}
                  </td>
                  <td>
                    <div>{r.patientName}</div>
                    <div className="muted wl-small">{r.patientId}</div>
                  </td>
                  <td>{r.ageSex}</td>
                  <td>{r.accession}</td>
                  <td>
                    {r.modalities}
                    {r.bodyPart ? ` · ${r.bodyPart}` : ''}
                  </td>
                  <td>{r.description}</td>
                  <td>{r.date}</td>
                  <td>
                    <span className={`wl-status wl-status-${status}`} data-testid="row-status" data-status={status}>
                      {STATUS_WORD[status]}
                    </span>
                    {final && (
                      <span
                        className="study-final wl-small muted"
                        data-testid="study-final"
                        data-sr={r.triage?.report?.srState ?? 'none'}
                        data-oru={r.triage?.report?.oruState ?? 'none'}
                        title={finalSummary(r.triage) ?? 'Signed off'}
                      >
                        {' '}
                        {finalSummary(r.triage)}
                      </span>
                    )}
                  </td>
                  <td>{timeSince(r.triage?.arrivedAt, now)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <AlertHistory patientOf={(uid) => studies?.find((r) => r.studyUID === uid)?.patientName ?? uid} />
      <p className="hint">↑ ↓ move · Enter or double-click opens · click a column to sort · ? help</p>
    </main>
  );
}
