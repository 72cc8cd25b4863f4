/**
 * TID 1500 Comprehensive 3D SR writer: Findings + the source study's attributes -> a naturalized
 * dcmjs dataset (write it with writeDicomPart10). Two kinds:
 *  - 'ai': the AI result, PRELIMINARY / COMPLETE / UNVERIFIED, device observer only;
 *  - 'verified': at sign-off, VERIFIED with a Verifying Observer, a person observer, one verdict per
 *    finding (rejected ones kept, marked Absent) and the AI SR it supersedes as predecessor.
 * UIDs are inputs: the outbox fixes them before the first delivery attempt, so a retry writes the same instance.
 */
import type { Code, Finding, ModelRef, Region } from '../findings/finding.js';
import { CODES, SOP_CLASS } from './codes.js';
import type { Dataset } from './dicom.js';
import { type ReportText, deviceObserver, imageLevelGroup, imageLibrary, imagingMeasurements, measurementReport, personObserver, planarRoiGroup, type GroupInput, type ResolvedImage, type Verdict } from './templates.js';
import { codeSeq } from './content.js';
import { isUid, uidFromString } from './uid.js';
import type { Measurement } from '../measurements/measurement.js';
import { hasFigures, radiologistMeasurementGroup, type ImagePlane } from './readerMeasurements.js';

/** Patient and study attributes, copied from the source images (type 2: may be empty, never invented). */
export interface SrStudy {
  StudyInstanceUID: string;
  PatientName?: string;
  PatientID?: string;
  PatientBirthDate?: string;
  PatientSex?: string;
  StudyDate?: string;
  StudyTime?: string;
  ReferringPhysicianName?: string;
  StudyID?: string;
  AccessionNumber?: string;
  /** Type 3, copied so that the study keeps its description in the PACS once an SR is in it (QIDO reads study attributes from its instances). */
  StudyDescription?: string;
  SpecificCharacterSet?: string;
  /** Modality of the source images; picks the Procedure reported code when none is given. */
  Modality?: string;
}

export interface SrSigner {
  /** DICOM person name, e.g. Reader^Rita^^Dr. */
  name: string;
  organization: string;
  /** ISO 8601 */
  at: string;
}

export interface SrDocumentInput {
  kind: 'ai' | 'verified';
  findings: Finding[];
  study: SrStudy;
  /** The AI model the report is about: device observer and contributing equipment. */
  model: ModelRef & { parameters?: string };
  sopInstanceUID: string;
  seriesInstanceUID: string;
  seriesNumber?: number;
  instanceNumber?: number;
  /** ISO 8601 */
  contentDateTime: string;
  /** Required for 'verified'. */
  signer?: SrSigner;
  /** The AI SR a verified SR supersedes. */
  predecessor?: { seriesInstanceUID: string; sopInstanceUID: string; sopClassUID?: string };
  /** SOP Class UIDs of referenced images whose ImageRef does not carry one. */
  sopClassUIDs?: Record<string, string>;
  procedureReported?: Code;
  institutionName?: string;
  /** The signed report's text ('verified' only): findings sentences and impression, as TEXT items. */
  report?: ReportText;
  /**
   * The radiologist's own measurements ('verified' only), live ones, each with the SOP Class UID of its
   * image and, where known, the image's plane (for SCOORD); one group each, observed by the signer.
   */
  measurements?: SrMeasurement[];
}

export interface SrMeasurement {
  measurement: Measurement;
  sopClassUID: string;
  plane?: ImagePlane;
}

export class SrInputError extends Error {}

/** Procedure reported per modality: LOINC codes from CID 100 (PixelMed checks the list). */
const PROCEDURE_BY_MODALITY: Record<string, Code> = {
  CT: CODES.ctUnspecified,
  MR: { value: '25056-3', scheme: 'LN', meaning: 'MRI unspecified body region' },
  PT: { value: '44139-4', scheme: 'LN', meaning: 'PET whole body' },
};

/** ISO 8601 instant -> DICOM DA/TM/DT in UTC. */
export function dicomDateParts(iso: string): { date: string; time: string; dt: string } {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new SrInputError(`not an ISO 8601 date-time: ${iso}`);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return { date, time, dt: `${date}${time}+0000` };
}

/** Study attributes from a naturalized dataset of one source image (e.g. from DICOMweb metadata). */
export function studyFromDataset(ds: Dataset): SrStudy {
  const s = (k: string): string | undefined => {
    const v = ds[k];
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return v.length ? s2(v[0]) : undefined;
    return s2(v);
  };
  const s2 = (v: unknown): string | undefined =>
    v && typeof v === 'object' ? ((v as { Alphabetic?: string }).Alphabetic ?? undefined) : v === undefined ? undefined : String(v);
  const uid = s('StudyInstanceUID');
  if (!uid) throw new SrInputError('source dataset has no StudyInstanceUID');
  return {
    StudyInstanceUID: uid,
    PatientName: s('PatientName'),
    PatientID: s('PatientID'),
    PatientBirthDate: s('PatientBirthDate'),
    PatientSex: s('PatientSex'),
    StudyDate: s('StudyDate'),
    StudyTime: s('StudyTime'),
    ReferringPhysicianName: s('ReferringPhysicianName'),
    StudyID: s('StudyID'),
    AccessionNumber: s('AccessionNumber'),
    StudyDescription: s('StudyDescription'),
    SpecificCharacterSet: s('SpecificCharacterSet'),
    Modality: s('Modality'),
  };
}

function resolve(region: Region, input: SrDocumentInput, findingId: string): ResolvedImage {
  const cls = region.image.sopClassUID ?? input.sopClassUIDs?.[region.image.sopInstanceUID];
  if (!cls) throw new SrInputError(`finding ${findingId}: SOP Class UID of image ${region.image.sopInstanceUID} unknown (pass it in the region or sopClassUIDs)`);
  return { ...region.image, sopClassUID: cls };
}

/** The tracking UID a finding gets when it has none: stable across the AI SR, the verified SR and retries. */
export function trackingUidOf(studyInstanceUID: string, findingId: string): string {
  return uidFromString(`finding:${studyInstanceUID}:${findingId}`);
}

function verdictOf(f: Finding): Verdict {
  if (f.status === 'ai-unverified') throw new SrInputError(`finding ${f.id} has no verdict: a verified report needs every finding accepted, modified or rejected`);
  return f.status;
}

/** One TID 1410 group per geometric region, one TID 1501 group for the images without geometry; all share the tracking UID. */
export function groupsFor(f: Finding, input: SrDocumentInput): GroupInput[] {
  // A modified finding is the same lesion as its AI original: it keeps the original's tracking UID.
  const trackingUID = f.trackingUID ?? trackingUidOf(f.studyInstanceUID, f.originalId ?? f.id);
  const verdict = input.kind === 'verified' ? verdictOf(f) : undefined;
  const out: GroupInput[] = [];
  const levelImages: ResolvedImage[] = [];
  for (const r of f.regions) {
    const image = resolve(r, input, f.id);
    if (r.box || r.polygon) out.push({ finding: f, region: { ...r, image }, trackingUID, verdict });
    else levelImages.push(image);
  }
  if (levelImages.length) out.push({ finding: f, images: levelImages, trackingUID, verdict });
  return out;
}

function validate(input: SrDocumentInput): void {
  for (const [k, v] of [
    ['sopInstanceUID', input.sopInstanceUID],
    ['seriesInstanceUID', input.seriesInstanceUID],
    ['study.StudyInstanceUID', input.study.StudyInstanceUID],
  ] as const) {
    if (!isUid(v)) throw new SrInputError(`${k}: not a valid DICOM UID (${v})`);
  }
  if (!input.findings.length && !input.measurements?.length) throw new SrInputError('findings: a measurement report needs at least one finding or measurement');
  if (input.measurements?.length && input.kind !== 'verified') throw new SrInputError('measurements: only a verified report carries the radiologist\'s measurements');
  for (const { measurement: m } of input.measurements ?? []) {
    if (m.studyInstanceUID !== input.study.StudyInstanceUID) throw new SrInputError(`measurement ${m.id} belongs to study ${m.studyInstanceUID}, not ${input.study.StudyInstanceUID}`);
    if (!isUid(m.sopInstanceUID) || !isUid(m.seriesInstanceUID)) throw new SrInputError(`measurement ${m.id}: image UIDs are not valid DICOM UIDs`);
  }
  for (const f of input.findings) {
    if (f.studyInstanceUID !== input.study.StudyInstanceUID) throw new SrInputError(`finding ${f.id} belongs to study ${f.studyInstanceUID}, not ${input.study.StudyInstanceUID}`);
  }
  if (input.kind === 'verified' && !input.signer) throw new SrInputError('signer: a verified report needs the verifying radiologist (name, organisation, time)');
}

/** Builds the SR dataset (naturalized); pure: same input, same dataset. */
export function buildMeasurementReport(input: SrDocumentInput): Dataset {
  validate(input);
  const groups = input.findings.flatMap((f) => groupsFor(f, input));
  const measured = (input.kind === 'verified' && input.signer ? (input.measurements ?? []) : []).filter((x) => hasFigures(x.measurement));
  const measuredImage = (x: SrMeasurement): ResolvedImage => ({
    seriesInstanceUID: x.measurement.seriesInstanceUID,
    sopInstanceUID: x.measurement.sopInstanceUID,
    sopClassUID: x.sopClassUID,
    ...(x.measurement.frameNumber > 1 ? { frameNumber: x.measurement.frameNumber } : {}),
  });
  const images: ResolvedImage[] = [...groups.flatMap((g) => (g.region ? [g.region.image] : (g.images ?? []))), ...measured.map(measuredImage)];
  const content = measurementReport({
    observers: [...(input.kind === 'verified' && input.signer ? personObserver(input.signer.name, input.signer.organization) : []), ...deviceObserver(input.model)],
    procedureReported: input.procedureReported ?? PROCEDURE_BY_MODALITY[input.study.Modality ?? 'CT'] ?? CODES.ctUnspecified,
    library: imageLibrary(images),
    measurements: imagingMeasurements([
      ...groups.map((g) => (g.region ? planarRoiGroup(g) : imageLevelGroup(g))),
      ...measured.map((x) => radiologistMeasurementGroup({ measurement: x.measurement, image: measuredImage(x), plane: x.plane, observerName: input.signer!.name })),
    ]),
    ...(input.kind === 'verified' && input.report ? { report: input.report } : {}),
  });

  // Evidence: Study > Series > SOP, every referenced instance once (dciodvfy checks each IMAGE against it).
  const bySeries = new Map<string, Map<string, string>>();
  for (const img of images) {
    if (!bySeries.has(img.seriesInstanceUID)) bySeries.set(img.seriesInstanceUID, new Map());
    bySeries.get(img.seriesInstanceUID)!.set(img.sopInstanceUID, img.sopClassUID);
  }
  const evidence = [
    {
      StudyInstanceUID: input.study.StudyInstanceUID,
      ReferencedSeriesSequence: [...bySeries].map(([series, sops]) => ({
        SeriesInstanceUID: series,
        ReferencedSOPSequence: [...sops].map(([sop, cls]) => ({ ReferencedSOPClassUID: cls, ReferencedSOPInstanceUID: sop })),
      })),
    },
  ];

  const now = dicomDateParts(input.contentDateTime);
  const st = input.study;
  const isAi = input.kind === 'ai';
  const ds: Dataset = {
    SpecificCharacterSet: st.SpecificCharacterSet && st.SpecificCharacterSet !== 'ISO_IR 192' ? st.SpecificCharacterSet : 'ISO_IR 100',
    SOPClassUID: SOP_CLASS.comprehensive3DSR,
    SOPInstanceUID: input.sopInstanceUID,
    InstanceCreationDate: now.date,
    InstanceCreationTime: now.time,
    TimezoneOffsetFromUTC: '+0000',
    // Patient and General Study: copied, type 2 (present even when empty).
    PatientName: st.PatientName ?? '',
    PatientID: st.PatientID ?? '',
    PatientBirthDate: st.PatientBirthDate ?? '',
    PatientSex: st.PatientSex ?? '',
    StudyInstanceUID: st.StudyInstanceUID,
    StudyDate: st.StudyDate ?? '',
    StudyTime: st.StudyTime ?? '',
    ReferringPhysicianName: st.ReferringPhysicianName ?? '',
    StudyID: st.StudyID ?? '',
    AccessionNumber: st.AccessionNumber ?? '',
    ...(st.StudyDescription ? { StudyDescription: st.StudyDescription } : {}),
    // SR Document Series
    Modality: 'SR',
    SeriesInstanceUID: input.seriesInstanceUID,
    SeriesNumber: String(input.seriesNumber ?? (isAi ? 9001 : 9002)),
    SeriesDescription: isAi ? `AI RESULT (UNVERIFIED) ${input.model.name} ${input.model.version}`.slice(0, 64) : 'VERIFIED REPORT (AI-assisted)',
    ReferencedPerformedProcedureStepSequence: [],
    // General Equipment: the system that wrote the document; the AI itself is contributing equipment.
    Manufacturer: input.model.manufacturer,
    ManufacturerModelName: input.model.name.slice(0, 64),
    SoftwareVersions: input.model.version.slice(0, 64),
    ...(input.institutionName ? { InstitutionName: input.institutionName } : {}),
    // SR Document General
    InstanceNumber: String(input.instanceNumber ?? 1),
    ContentDate: now.date,
    ContentTime: now.time,
    PreliminaryFlag: isAi ? 'PRELIMINARY' : 'FINAL',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: isAi ? 'UNVERIFIED' : 'VERIFIED',
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: evidence,
    ContributingEquipmentSequence: distinctModels([input.model, ...input.findings.map((f) => f.model)]).map((m) => ({
      Manufacturer: m.manufacturer,
      ManufacturerModelName: m.name.slice(0, 64),
      SoftwareVersions: m.version.slice(0, 64),
      ContributionDateTime: now.dt,
      ContributionDescription: `AI inference: ${m.name} ${m.version}`.slice(0, 64),
      PurposeOfReferenceCodeSequence: codeSeq(CODES.processingAlgorithm),
    })),
  };
  if (!isAi && input.signer) {
    ds.VerifyingObserverSequence = [
      {
        VerifyingObserverName: [{ Alphabetic: input.signer.name }],
        VerifyingObserverIdentificationCodeSequence: [],
        VerifyingOrganization: input.signer.organization,
        VerificationDateTime: dicomDateParts(input.signer.at).dt,
      },
    ];
  }
  if (input.predecessor) {
    ds.PredecessorDocumentsSequence = [
      {
        StudyInstanceUID: st.StudyInstanceUID,
        ReferencedSeriesSequence: [
          {
            SeriesInstanceUID: input.predecessor.seriesInstanceUID,
            ReferencedSOPSequence: [
              { ReferencedSOPClassUID: input.predecessor.sopClassUID ?? SOP_CLASS.comprehensive3DSR, ReferencedSOPInstanceUID: input.predecessor.sopInstanceUID },
            ],
          },
        ],
      },
    ];
  }
  for (const k of Object.keys(ds)) if (ds[k] === undefined) delete ds[k];
  // Document content: the root content item's attributes live at dataset level.
  Object.assign(ds, content);
  return ds;
}

function distinctModels(models: ModelRef[]): ModelRef[] {
  const seen = new Map<string, ModelRef>();
  for (const m of models) seen.set(`${m.manufacturer}|${m.name}|${m.version}`, m);
  return [...seen.values()];
}
