/**
 * THE date format of every screen (worklist, viewer, findings and report panels, alert history,
 * governance): `YYYY-MM-DD` for a date, `YYYY-MM-DD HH:mm` for an instant, in the reader's local time.
 * ISO-like on purpose: one format that cannot be read two ways (03/04 is March or April depending on
 * who reads it) and that sorts as text. Isomorphic, pure (the time zone is the runtime's).
 */

const pad = (n: number) => String(n).padStart(2, '0');

/** A date only: `YYYY-MM-DD` pattern every call site's output matches (tests check visible text against it). */
export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
/** An instant: `YYYY-MM-DD HH:mm`. */
export const DATE_TIME_PATTERN = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/;

type DateInput = string | number | Date | null | undefined;

/** A DICOM DA (`YYYYMMDD`), an ISO date (`YYYY-MM-DD`) or anything Date parses; null when none of them. */
function toDate(v: DateInput): { date: Date; dateOnly: boolean } | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'string') {
    const s = v.trim();
    // Calendar dates carry no time zone: never shifted by one through a UTC parse.
    const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(s);
    if (m) {
      const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      return d.getMonth() === Number(m[2]) - 1 ? { date: d, dateOnly: true } : null;
    }
  }
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : { date: d, dateOnly: false };
}

/** `YYYY-MM-DD` (local); '' when the input is empty or not a date. */
export function formatDate(v: DateInput): string {
  const t = toDate(v);
  if (!t) return '';
  const d = t.date;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** `YYYY-MM-DD HH:mm` (local); a calendar date without a time gives `YYYY-MM-DD`; '' when not a date. */
export function formatDateTime(v: DateInput): string {
  const t = toDate(v);
  if (!t) return '';
  if (t.dateOnly) return formatDate(t.date);
  const d = t.date;
  return `${formatDate(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
