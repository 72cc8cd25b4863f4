/** Worklist rows: QIDO-RS studies merged with the triage feed; sorting and filtering are pure. */
import { TAG, formatDicomDate, formatPersonName, num, str, values, type DicomJson } from '../core/imaging/dicomJson';

export type Priority = 'critical' | 'urgent' | 'routine' | 'none';
export const PRIORITY_RANK: Record<Priority, number> = { critical: 0, urgent: 1, routine: 2, none: 3 };

/**
 * The triage entry as the gateway gives it to this reader's role: priority and reason are the role's
 * own view (null for a role that sees no diagnostic findings), already through the reader policy
 * (study disable, rollout, indication, role rule), so a hidden finding never shows as a flag here.
 */
export interface TriageInfo {
  priority: Priority | null;
  reason: string | null;
  arrivedAt: string;
  aiState: string;
  /** 'final' once signed off: the worklist shows it instead of the AI flag. */
  status?: 'unsigned' | 'final';
  signedBy?: string | null;
  /** Where the signed result is: the verified SR in the PACS, the final ORU at the RIS. */
  report?: { srState: string; oruState: string } | null;
}

const STATE_WORD: Record<string, string> = { none: 'none', pending: 'pending', sent: 'sent', acknowledged: 'acknowledged', failed: 'FAILED' };

/** "Signed off by rita · SR stored · ORU acknowledged" for a final row; null otherwise. */
export function finalSummary(t: TriageInfo | undefined): string | null {
  if (t?.status !== 'final') return null;
  const parts = [t.signedBy ? `Signed off by ${t.signedBy}` : 'Signed off'];
  if (t.report) {
    parts.push(`SR ${t.report.srState === 'acknowledged' ? 'stored' : (STATE_WORD[t.report.srState] ?? t.report.srState)}`);
    parts.push(`ORU ${STATE_WORD[t.report.oruState] ?? t.report.oruState}`);
  }
  return parts.join(' · ');
}

/** A final row whose SR or ORU is still on its way (the worklist re-reads the triage until they arrive). */
export function reportInFlight(t: TriageInfo | undefined): boolean {
  return t?.status === 'final' && !!t.report && [t.report.srState, t.report.oruState].some((x) => x === 'pending' || x === 'sent');
}

/** The flag a row shows: none for a signed-off study (its result is final) or a role without diagnostic content. */
export function flagOf(r: Pick<WorklistRow, 'triage'>): Priority {
  if (!r.triage || r.triage.status === 'final') return 'none';
  return r.triage.priority ?? 'none';
}

export interface WorklistRow {
  studyUID: string;
  patientName: string;
  patientId: string;
  modalities: string;
  description: string;
  /** YYYY-MM-DD for display and sorting. */
  date: string;
  images: number;
  accession: string;
  triage?: TriageInfo;
}

export function rowFromQido(ds: DicomJson): WorklistRow {
  return {
    studyUID: str(ds, TAG.StudyInstanceUID) ?? '',
    patientName: formatPersonName(str(ds, TAG.PatientName)),
    patientId: str(ds, TAG.PatientID) ?? '',
    modalities: (values(ds, TAG.ModalitiesInStudy) as string[]).filter(Boolean).join(', '),
    description: str(ds, TAG.StudyDescription) ?? '',
    date: formatDicomDate(str(ds, TAG.StudyDate)),
    images: num(ds, TAG.NumberOfStudyRelatedInstances) ?? 0,
    accession: str(ds, TAG.AccessionNumber) ?? '',
  };
}

export type SortKey = 'priority' | 'patientName' | 'patientId' | 'modalities' | 'description' | 'date' | 'images' | 'arrived';
export interface SortState {
  key: SortKey;
  dir: 'asc' | 'desc';
}
export const DEFAULT_SORT: SortState = { key: 'priority', dir: 'asc' };

function priorityOf(r: WorklistRow): Priority {
  return flagOf(r);
}

function compareBy(key: SortKey, a: WorklistRow, b: WorklistRow): number {
  switch (key) {
    case 'priority':
      return PRIORITY_RANK[priorityOf(a)] - PRIORITY_RANK[priorityOf(b)];
    case 'images':
      return a.images - b.images;
    case 'arrived':
      return (a.triage?.arrivedAt ?? '').localeCompare(b.triage?.arrivedAt ?? '');
    default:
      return String(a[key]).localeCompare(String(b[key]), undefined, { numeric: true, sensitivity: 'base' });
  }
}

/**
 * Sorts by the chosen column; ties fall back to critical-first, then latest arrival, then newest study, so the most
 * urgent work is on top whatever column the reader last clicked.
 */
export function sortRows(rows: readonly WorklistRow[], sort: SortState): WorklistRow[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  return [...rows].sort(
    (a, b) =>
      sign * compareBy(sort.key, a, b) ||
      compareBy('priority', a, b) ||
      // Among equal priorities the latest arrival goes first, so a new critical study lands on top.
      -compareBy('arrived', a, b) ||
      -compareBy('date', a, b) ||
      a.studyUID.localeCompare(b.studyUID),
  );
}

export function filterRows(rows: readonly WorklistRow[], text: string): WorklistRow[] {
  const q = text.trim().toLowerCase();
  if (!q) return [...rows];
  return rows.filter((r) => [r.patientName, r.patientId, r.modalities, r.description, r.accession, r.date].some((v) => v.toLowerCase().includes(q)));
}

export function mergeTriage(rows: readonly WorklistRow[], triage: Record<string, TriageInfo>): WorklistRow[] {
  return rows.map((r) => (triage[r.studyUID] ? { ...r, triage: triage[r.studyUID] } : r));
}

/** "4 min", "2 h 5 min", "3 d" since arrival. */
export function timeSince(iso: string | undefined, now: number): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const min = Math.max(0, Math.floor((now - t) / 60_000));
  if (min < 1) return 'just now';
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d`;
}

export type SelectionKey = 'ArrowDown' | 'ArrowUp' | 'Home' | 'End';

/**
 * The selection is a study, not a row number: when a triage result re-sorts the list the highlight stays on the
 * study the reader chose, so Enter never opens a different patient. A selection that left the list (filtered out,
 * gone from the PACS) falls back to the top row.
 */
export function selectedIndex(rows: readonly WorklistRow[], selectedUid: string | null): number {
  const i = selectedUid === null ? -1 : rows.findIndex((r) => r.studyUID === selectedUid);
  return i >= 0 ? i : 0;
}

/** The study selected after a movement key, counted from where the selected study is now. */
export function moveSelection(rows: readonly WorklistRow[], selectedUid: string | null, key: SelectionKey): string | null {
  if (!rows.length) return null;
  const i = selectedIndex(rows, selectedUid);
  const next = key === 'ArrowDown' ? Math.min(rows.length - 1, i + 1) : key === 'ArrowUp' ? Math.max(0, i - 1) : key === 'Home' ? 0 : rows.length - 1;
  return rows[next].studyUID;
}
