/** Worklist rows: QIDO-RS studies merged with the triage feed; sorting and filtering are pure. */
import { TAG, formatPersonName, num, str, values, type DicomJson } from '../core/imaging/dicomJson';
import { formatDate } from '../core/format/dates';

/** Study-level attributes the worklist asks QIDO for besides the common ones. */
const T = { PatientAge: '00101010', PatientSex: '00100040', PatientBirthDate: '00100030', BodyPartExamined: '00180015' } as const;

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
  /** AI results that arrived after sign-off and this role may see (kept apart from the signed record; may start an addendum). */
  afterSignoff?: number | null;
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
  if (t.afterSignoff) parts.push(`${t.afterSignoff} AI result${t.afterSignoff === 1 ? '' : 's'} after sign-off`);
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
  /** "45 y F": from Patient's Age, else birth date and study date; '' when unknown. */
  ageSex: string;
  /** Body Part Examined as QIDO gives it at study level ('' when the PACS has none). */
  bodyPart: string;
  triage?: TriageInfo;
}

/** Age in whole years from a DICOM AS ("045Y", "006M") or birth date + study date (YYYYMMDD). */
export function ageOf(as: string | undefined, birth: string | undefined, studyDate: string | undefined): string {
  const m = /^(\d{3})([DWMY])$/.exec((as ?? '').trim());
  if (m) {
    const n = Number(m[1]);
    return m[2] === 'Y' ? `${n} y` : `${n} ${m[2] === 'M' ? 'mo' : m[2] === 'W' ? 'wk' : 'd'}`;
  }
  const b = /^(\d{4})(\d{2})(\d{2})$/.exec((birth ?? '').trim());
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec((studyDate ?? '').trim());
  if (!b || !d) return '';
  let years = Number(d[1]) - Number(b[1]);
  if (d[2] + d[3] < b[2] + b[3]) years--;
  return years >= 0 ? `${years} y` : '';
}

export function ageSexOf(ds: DicomJson): string {
  const age = ageOf(str(ds, T.PatientAge), str(ds, T.PatientBirthDate), str(ds, TAG.StudyDate));
  const sex = (str(ds, T.PatientSex) ?? '').trim().toUpperCase();
  return [age, /^[MFO]$/.test(sex) ? sex : ''].filter(Boolean).join(' ');
}

/** Where a study is in the reading workflow, as the worklist's Status column says it. */
export type ReadStatus = 'unread' | 'ai-pending' | 'ai-unavailable' | 'in-progress' | 'final';
export const READ_STATUSES: readonly ReadStatus[] = ['unread', 'ai-pending', 'ai-unavailable', 'in-progress', 'final'];
export const STATUS_WORD: Record<ReadStatus, string> = {
  unread: 'Unread',
  'ai-pending': 'AI pending',
  'ai-unavailable': 'AI unavailable',
  'in-progress': 'In progress',
  final: 'Final',
};

/**
 * Final once signed off; in progress once a reader has opened it or saved a draft (`started`);
 * otherwise the AI's state when it is not done (pending or running: AI pending; no worker, failed or
 * waited too long: AI unavailable; the study stays readable); else unread.
 */
export function statusOf(r: Pick<WorklistRow, 'triage' | 'studyUID'>, started: ReadonlySet<string> = new Set()): ReadStatus {
  const t = r.triage;
  if (t?.status === 'final') return 'final';
  if (started.has(r.studyUID)) return 'in-progress';
  if (t?.aiState === 'pending' || t?.aiState === 'running') return 'ai-pending';
  if (t?.aiState === 'unavailable' || t?.aiState === 'failed') return 'ai-unavailable';
  return 'unread';
}

/** The reason the row shows beside its flag ("ICH suspected, 96%"); '' for no flag. */
export function reasonOf(r: Pick<WorklistRow, 'triage'>): string {
  return flagOf(r) === 'none' ? '' : (r.triage?.reason ?? '');
}

/**
 * A row from the study-level QIDO answer. The body part is THE study body part from its image series
 * (`bodyParts`, src/core/study/facts.ts bodyPartsByStudy over a series-level query): the study-level
 * attribute drops out once an AI SR is in the study (Orthanc reads it from one instance); it is only the
 * fallback when the series are not known.
 */
export function rowFromQido(ds: DicomJson, bodyParts?: ReadonlyMap<string, string>): WorklistRow {
  return {
    studyUID: str(ds, TAG.StudyInstanceUID) ?? '',
    patientName: formatPersonName(str(ds, TAG.PatientName)),
    patientId: str(ds, TAG.PatientID) ?? '',
    modalities: (values(ds, TAG.ModalitiesInStudy) as string[]).filter(Boolean).join(', '),
    description: str(ds, TAG.StudyDescription) ?? '',
    date: formatDate(str(ds, TAG.StudyDate)),
    images: num(ds, TAG.NumberOfStudyRelatedInstances) ?? 0,
    accession: str(ds, TAG.AccessionNumber) ?? '',
    ageSex: ageSexOf(ds),
    bodyPart: bodyParts?.get(str(ds, TAG.StudyInstanceUID) ?? '') ?? (str(ds, T.BodyPartExamined) ?? '').trim().toUpperCase(),
  };
}

export type SortKey = 'priority' | 'patientName' | 'patientId' | 'ageSex' | 'accession' | 'modalities' | 'description' | 'date' | 'images' | 'arrived' | 'status';
export interface SortState {
  key: SortKey;
  dir: 'asc' | 'desc';
}
export const DEFAULT_SORT: SortState = { key: 'priority', dir: 'asc' };

function priorityOf(r: WorklistRow): Priority {
  return flagOf(r);
}

function compareBy(key: SortKey, a: WorklistRow, b: WorklistRow, started: ReadonlySet<string> = new Set()): number {
  switch (key) {
    case 'status':
      return READ_STATUSES.indexOf(statusOf(a, started)) - READ_STATUSES.indexOf(statusOf(b, started));
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
 * Sorts by the chosen column; ties fall back to critical-first, then the oldest arrival (the one waiting longest),
 * then the oldest study, so the most urgent and longest-waiting work is on top whatever column the reader last clicked.
 * A study without an arrival time (not seen by the pre-read) goes after those that have one.
 */
export function sortRows(rows: readonly WorklistRow[], sort: SortState, started: ReadonlySet<string> = new Set()): WorklistRow[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  return [...rows].sort(
    (a, b) =>
      sign * compareBy(sort.key, a, b, started) ||
      compareBy('priority', a, b) ||
      // Among equal priorities the one waiting longest goes first.
      compareArrival(a, b) ||
      compareBy('date', a, b) ||
      a.studyUID.localeCompare(b.studyUID),
  );
}

function compareArrival(a: WorklistRow, b: WorklistRow): number {
  const x = a.triage?.arrivedAt || '';
  const y = b.triage?.arrivedAt || '';
  if (!x || !y) return x ? -1 : y ? 1 : 0;
  return x.localeCompare(y);
}

/** The column filters: '' is "any". */
export interface RowFilters {
  modality: string;
  status: ReadStatus | '';
  priority: Priority | '';
}
export const NO_FILTERS: RowFilters = { modality: '', status: '', priority: '' };

export function filterRows(rows: readonly WorklistRow[], text: string, filters: RowFilters = NO_FILTERS, started: ReadonlySet<string> = new Set()): WorklistRow[] {
  const q = text.trim().toLowerCase();
  return rows.filter(
    (r) =>
      (!q || [r.patientName, r.patientId, r.modalities, r.description, r.accession, r.date, r.bodyPart, reasonOf(r)].some((v) => v.toLowerCase().includes(q))) &&
      (!filters.modality || r.modalities.split(/,\s*/).includes(filters.modality)) &&
      (!filters.status || statusOf(r, started) === filters.status) &&
      (!filters.priority || flagOf(r) === filters.priority),
  );
}

/** The modalities present in the list, for the modality filter. */
export function modalitiesOf(rows: readonly WorklistRow[]): string[] {
  return [...new Set(rows.flatMap((r) => r.modalities.split(/,\s*/)).filter(Boolean))].sort();
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
