/** What the trust controls need to know about a study, derived from its DICOM attributes (pure). */

export interface StudyFacts {
  /** Primary modality: the first image modality (SR, KO, PR and SEG are our own or derived objects). */
  modality: string | null;
  modalities: string[];
  bodyPart?: string;
  patientAgeYears?: number;
}

const DERIVED = new Set(['SR', 'KO', 'PR', 'SEG', 'REG', 'DOC']);

export function primaryModality(modalities: readonly string[]): string | null {
  return modalities.find((m) => !DERIVED.has(m)) ?? modalities[0] ?? null;
}

/** DICOM AS (Age String) "nnnD|W|M|Y" → years (fractional below a year); undefined when malformed. */
export function parseAgeString(as: string | undefined | null): number | undefined {
  const m = /^(\d{3})([DWMY])$/.exec((as ?? '').trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const per: Record<string, number> = { D: 365.25, W: 52.1775, M: 12, Y: 1 };
  return n / per[m[2]];
}

/** Whole years between DICOM DA dates (YYYYMMDD); undefined if either is missing or malformed. */
export function ageFromDates(birthDate: string | undefined | null, onDate: string | undefined | null): number | undefined {
  const re = /^(\d{4})(\d{2})(\d{2})$/;
  const b = re.exec((birthDate ?? '').trim());
  const d = re.exec((onDate ?? '').trim());
  if (!b || !d) return undefined;
  let years = Number(d[1]) - Number(b[1]);
  if (Number(d[2]) * 100 + Number(d[3]) < Number(b[2]) * 100 + Number(b[3])) years--;
  return years >= 0 ? years : undefined;
}

/** PatientAge when present, else BirthDate against StudyDate. */
export function patientAgeYears(tags: { PatientAge?: string; PatientBirthDate?: string; StudyDate?: string }): number | undefined {
  return parseAgeString(tags.PatientAge) ?? ageFromDates(tags.PatientBirthDate, tags.StudyDate);
}
