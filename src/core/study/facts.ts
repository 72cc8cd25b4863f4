/**
 * THE study facts: what the AI eligibility rule (src/core/ai/eligibility.ts) and the trust controls
 * know about a series, computed from its DICOM JSON (PS3.18 F.2), the shape WADO-RS metadata gives
 * the browser (through the gateway's proxy) and the gateway (from Orthanc's DICOMweb plugin) alike.
 * The browser's decision and the server's are therefore the same function on the same input.
 * Isomorphic: no Node or DOM imports.
 */
import { TAG, nums, str, values, type DicomJson } from '../imaging/dicomJson.js';

/** What the HL7 order for the study says (the server knows it; a browser does not). */
export interface OrderFacts {
  clinicalIndication?: string | null;
}

export interface SeriesFacts {
  studyInstanceUID: string | null;
  seriesInstanceUID: string | null;
  /** Upper case, trimmed; null when absent. */
  modality: string | null;
  bodyPart: string | null;
  /** PatientAge (AS) when present, else whole years from PatientBirthDate at StudyDate; null when unknown. */
  ageYears: number | null;
  sex: 'M' | 'F' | 'O' | null;
  /** ImageType (0008,0008) values, upper case; [] when absent. */
  imageType: string[];
  /** ImageType says DERIVED or SECONDARY (perfusion maps, MPRs, screen captures...) on any instance. */
  derived: boolean;
  /** mm; null when absent. */
  sliceThickness: number | null;
  /** [row spacing, column spacing] in mm (PixelSpacing, else ImagerPixelSpacing); null when absent. */
  pixelSpacing: [number, number] | null;
  seriesDescription: string | null;
  accessionNumber: string | null;
  /** From the order (OrderFacts); null when no order is known. */
  clinicalIndication: string | null;
  /** Instances the facts were computed over (the series size when given the whole series). */
  instanceCount: number;
}

const T = {
  ...TAG,
  ImageType: '00080008',
  BodyPartExamined: '00180015',
  PatientAge: '00101010',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  SeriesDate: '00080021',
  AcquisitionDate: '00080022',
  SliceThickness: '00180050',
  PixelSpacing: '00280030',
  ImagerPixelSpacing: '00181164',
} as const;

const AGE_PER_YEAR = { D: 365.25, W: 365.25 / 7, M: 12, Y: 1 } as const;

/** DICOM AS (Age String) "nnnD|W|M|Y" → years (fractional below a year); null when absent or malformed. */
export function parseAgeString(as: string | null | undefined): number | null {
  const m = /^(\d{3})([DWMY])$/.exec((as ?? '').trim().toUpperCase());
  if (!m) return null;
  return Number(m[1]) / AGE_PER_YEAR[m[2] as keyof typeof AGE_PER_YEAR];
}

/** Whole years between DICOM DA dates (YYYYMMDD); null if either is missing or malformed, or the birth is later. */
export function ageFromDates(birthDate: string | null | undefined, onDate: string | null | undefined): number | null {
  const re = /^(\d{4})(\d{2})(\d{2})$/;
  const b = re.exec((birthDate ?? '').trim());
  const d = re.exec((onDate ?? '').trim());
  if (!b || !d) return null;
  let years = Number(d[1]) - Number(b[1]);
  if (Number(d[2]) * 100 + Number(d[3]) < Number(b[2]) * 100 + Number(b[3])) years--;
  return years >= 0 ? years : null;
}

/**
 * Age in years: PatientAge when present, else BirthDate at the study's date (StudyDate, SeriesDate,
 * AcquisitionDate). Never "today": the same header gives the same age on every machine and every day.
 */
export function ageYearsOf(tags: { PatientAge?: string | null; PatientBirthDate?: string | null; StudyDate?: string | null }): number | null {
  return parseAgeString(tags.PatientAge) ?? ageFromDates(tags.PatientBirthDate, tags.StudyDate);
}

/**
 * ImageType values. Some real headers write them space-separated in one value ("ORIGINAL PRIMARY":
 * the DWV/GDCM chest CR does); CS values cannot contain a space meaningfully, so both forms split.
 */
function imageTypeOf(ds: DicomJson): string[] {
  return values(ds, T.ImageType)
    .flatMap((v) => String(v ?? '').split(/[\\\s]+/))
    .map((v) => v.trim().toUpperCase())
    .filter(Boolean);
}

/** DERIVED in value 1 or SECONDARY in value 2 (PS3.3 C.7.6.1.1.2). */
export function isDerivedImageType(imageType: readonly string[]): boolean {
  return imageType[0] === 'DERIVED' || imageType[1] === 'SECONDARY';
}

const text = (ds: DicomJson, tag: string): string | null => {
  const v = str(ds, tag)?.trim();
  return v ? v : null;
};
const positive = (n: number | undefined): number | null => (n !== undefined && Number.isFinite(n) && n > 0 ? n : null);

/**
 * The facts of one series from its instances' DICOM JSON (one instance is enough; given the whole
 * series, an instance that is DERIVED/SECONDARY anywhere in it makes the series derived: fail closed).
 * Identity, patient and geometry attributes are read from the first instance.
 */
export function studyFacts(instances: DicomJson | readonly DicomJson[], order: OrderFacts = {}): SeriesFacts {
  const list = (Array.isArray(instances) ? instances : [instances]) as readonly DicomJson[];
  const ds = list[0] ?? {};
  // The image type reported is the first derived one when there is one, so the reason names what refused.
  const types = list.map(imageTypeOf);
  const derivedType = types.find(isDerivedImageType);
  const imageType = derivedType ?? types[0] ?? [];
  const modality = text(ds, T.Modality)?.toUpperCase() ?? null;
  const bodyPart = text(ds, T.BodyPartExamined)?.toUpperCase() ?? null;
  const sexRaw = text(ds, T.PatientSex)?.toUpperCase();
  const spacing = nums(ds, T.PixelSpacing) ?? nums(ds, T.ImagerPixelSpacing);
  const row = positive(spacing?.[0]);
  const col = positive(spacing?.[1] ?? spacing?.[0]);
  return {
    studyInstanceUID: text(ds, T.StudyInstanceUID),
    seriesInstanceUID: text(ds, T.SeriesInstanceUID),
    modality,
    bodyPart,
    ageYears: ageYearsOf({
      PatientAge: text(ds, T.PatientAge),
      PatientBirthDate: text(ds, T.PatientBirthDate),
      StudyDate: text(ds, T.StudyDate) ?? text(ds, T.SeriesDate) ?? text(ds, T.AcquisitionDate),
    }),
    sex: sexRaw === 'M' || sexRaw === 'F' || sexRaw === 'O' ? sexRaw : null,
    imageType,
    derived: derivedType !== undefined,
    sliceThickness: positive(nums(ds, T.SliceThickness)?.[0]),
    pixelSpacing: row !== null && col !== null ? [row, col] : null,
    seriesDescription: text(ds, T.SeriesDescription),
    accessionNumber: text(ds, T.AccessionNumber),
    clinicalIndication: order.clinicalIndication?.trim() || null,
    instanceCount: list.length,
  };
}

/** Non-image objects (ours or derived annotations): never the study's "primary" modality. */
const NON_IMAGE = new Set(['SR', 'KO', 'PR', 'SEG', 'REG', 'DOC', 'RWV', 'AU', 'ECG', 'PLAN', 'RTSTRUCT', 'RTPLAN', 'RTDOSE']);

export function primaryModality(modalities: readonly string[]): string | null {
  return modalities.find((m) => !NON_IMAGE.has(m)) ?? modalities[0] ?? null;
}

/**
 * A study's facts: its image series' facts, largest first, and the study-level summary the trust
 * controls read (primary modality, body part and age of the largest series of that modality).
 */
export interface StudyFactsSummary {
  modality: string | null;
  modalities: string[];
  bodyPart?: string;
  patientAgeYears?: number;
  /** Image series, largest first (the order the pre-read picks a series in). */
  series: SeriesFacts[];
}

/** A series as a study-level summary needs it: from SeriesFacts, or from a series-level QIDO answer. */
export interface SeriesBodyPart {
  modality: string | null | undefined;
  bodyPart: string | null | undefined;
  instanceCount?: number | null;
}

/**
 * THE body part of a study: its image series' Body Part Examined (the largest series of the primary
 * modality first, then any other image series that has one), upper case; null when none has one.
 * Never the study-level attribute a PACS answers at study level: Orthanc reads a series attribute there
 * from one instance of the study, and once an AI SR (no Body Part Examined) is in the study the body part
 * drops out of the worklist and the priors' relevance (reported; regression test in facts.test.ts).
 * Non-image objects (SR, KO, PR, SEG...) never give it.
 */
export function studyBodyPart(series: readonly SeriesBodyPart[]): string | null {
  const images = series.filter((s) => !NON_IMAGE.has((s.modality ?? '').trim().toUpperCase()));
  const modality = primaryModality(images.map((s) => (s.modality ?? '').trim().toUpperCase()).filter(Boolean));
  const withPart = images
    .map((s, i) => ({ s, i, part: (s.bodyPart ?? '').trim().toUpperCase() }))
    .filter((x) => x.part)
    // The primary modality's series first, then the largest, then the order given.
    .sort((a, b) => Number((b.s.modality ?? '').trim().toUpperCase() === modality) - Number((a.s.modality ?? '').trim().toUpperCase() === modality) || (b.s.instanceCount ?? 0) - (a.s.instanceCount ?? 0) || a.i - b.i);
  return withPart[0]?.part ?? null;
}

/** Body part per study from a series-level QIDO answer (DICOM JSON: Study Instance UID, Modality, Body Part Examined, instances). */
export function bodyPartsByStudy(series: readonly DicomJson[]): Map<string, string> {
  const byStudy = new Map<string, SeriesBodyPart[]>();
  for (const ds of series) {
    const study = text(ds, T.StudyInstanceUID);
    if (!study) continue;
    const list = byStudy.get(study) ?? [];
    list.push({ modality: text(ds, T.Modality), bodyPart: text(ds, T.BodyPartExamined), instanceCount: nums(ds, '00201209')?.[0] ?? null });
    byStudy.set(study, list);
  }
  const out = new Map<string, string>();
  for (const [study, list] of byStudy) {
    const part = studyBodyPart(list);
    if (part) out.set(study, part);
  }
  return out;
}

export function summariseStudy(series: readonly SeriesFacts[], otherModalities: readonly string[] = []): StudyFactsSummary {
  const sorted = [...series].sort((a, b) => b.instanceCount - a.instanceCount);
  const modalities = [...new Set([...sorted.map((s) => s.modality), ...otherModalities].filter((m): m is string => !!m))];
  const modality = primaryModality(modalities);
  const main = sorted.find((s) => s.modality === modality) ?? sorted[0];
  return {
    modality,
    modalities,
    bodyPart: (main?.bodyPart ?? studyBodyPart(sorted)) || undefined,
    patientAgeYears: main?.ageYears ?? undefined,
    series: sorted,
  };
}
