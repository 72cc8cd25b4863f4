/**
 * What the trust controls need to know about a study. The facts themselves are computed in one place,
 * src/core/study/facts.ts (from DICOM JSON, the same in the browser and the gateway); this module
 * keeps the names the policy code has always imported.
 */
import { ageFromDates as ageFromDatesCore, ageYearsOf, parseAgeString as parseAgeStringCore, type StudyFactsSummary } from '../study/facts.js';

export { primaryModality } from '../study/facts.js';

/** Primary modality, body part and age of the study, and every image series' facts (largest first). */
export type StudyFacts = Omit<StudyFactsSummary, 'series'> & { series?: StudyFactsSummary['series'] };

/** DICOM AS (Age String) "nnnD|W|M|Y" → years (fractional below a year); undefined when malformed. */
export function parseAgeString(as: string | undefined | null): number | undefined {
  return parseAgeStringCore(as) ?? undefined;
}

/** Whole years between DICOM DA dates (YYYYMMDD); undefined if either is missing or malformed. */
export function ageFromDates(birthDate: string | undefined | null, onDate: string | undefined | null): number | undefined {
  return ageFromDatesCore(birthDate, onDate) ?? undefined;
}

/** PatientAge when present, else BirthDate against StudyDate. */
export function patientAgeYears(tags: { PatientAge?: string; PatientBirthDate?: string; StudyDate?: string }): number | undefined {
  return ageYearsOf(tags) ?? undefined;
}
