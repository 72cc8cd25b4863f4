/** Coded concepts used by the TID 1500 writer and reader (DICOM PS3.16). */
import type { Code } from '../findings/finding.js';

const dcm = (value: string, meaning: string): Code => ({ value, scheme: 'DCM', meaning });

export const CODES = {
  imagingMeasurementReport: dcm('126000', 'Imaging Measurement Report'),
  language: dcm('121049', 'Language of Content Item and Descendants'),
  english: { value: 'en', scheme: 'RFC5646', meaning: 'English' },
  observerType: dcm('121005', 'Observer Type'),
  person: dcm('121006', 'Person'),
  device: dcm('121007', 'Device'),
  personObserverName: dcm('121008', 'Person Observer Name'),
  personObserverOrganization: dcm('121009', "Person Observer's Organization Name"),
  deviceObserverUID: dcm('121012', 'Device Observer UID'),
  deviceObserverName: dcm('121013', 'Device Observer Name'),
  deviceObserverManufacturer: dcm('121014', 'Device Observer Manufacturer'),
  deviceObserverModelName: dcm('121015', 'Device Observer Model Name'),
  procedureReported: dcm('121058', 'Procedure reported'),
  imageLibrary: dcm('111028', 'Image Library'),
  imageLibraryGroup: dcm('126200', 'Image Library Group'),
  imagingMeasurements: dcm('126010', 'Imaging Measurements'),
  measurementGroup: dcm('125007', 'Measurement Group'),
  trackingIdentifier: dcm('112039', 'Tracking Identifier'),
  trackingUID: dcm('112040', 'Tracking Unique Identifier'),
  finding: dcm('121071', 'Finding'),
  findingSite: { value: '363698007', scheme: 'SCT', meaning: 'Finding Site' },
  imageRegion: dcm('111030', 'Image Region'),
  sourceOfMeasurement: dcm('121112', 'Source of Measurement'),
  certaintyOfFinding: dcm('111012', 'Certainty of Finding'),
  algorithmName: dcm('111001', 'Algorithm Name'),
  algorithmVersion: dcm('111003', 'Algorithm Version'),
  algorithmParameters: dcm('111002', 'Algorithm Parameters'),
  presenceOfProperty: dcm('121052', 'Presence of property'),
  present: dcm('121053', 'Present'),
  absent: dcm('121054', 'Absent'),
  comment: dcm('121106', 'Comment'),
  /** TID 1500 row 12: the container for qualitative evaluations (here: the report's text). */
  qualitativeEvaluations: { value: 'C0034375', scheme: 'UMLS', meaning: 'Qualitative Evaluations' },
  impression: dcm('121073', 'Impression'),
  percent: { value: '%', scheme: 'UCUM', meaning: 'Percent' },
  unity: { value: '1', scheme: 'UCUM', meaning: 'no units' },
  /** IHE AIR placeholder for CID 7005 "Processing Algorithm" (see docs/conformance.md). */
  processingAlgorithm: { value: 'Newcode1', scheme: '99IHE', meaning: 'Processing Algorithm' },
  /** Procedure reported when nothing better is known; it is in PixelMed's CID 100 list. */
  ctUnspecified: { value: '25045-6', scheme: 'LN', meaning: 'CT unspecified body region' },
} as const satisfies Record<string, Code>;

export const SOP_CLASS = {
  comprehensive3DSR: '1.2.840.10008.5.1.4.1.1.88.34',
  comprehensiveSR: '1.2.840.10008.5.1.4.1.1.88.33',
  enhancedSR: '1.2.840.10008.5.1.4.1.1.88.22',
} as const;

/** Older schemes and codes that mean the same thing (SRT was retired for SCT). */
const SYNONYMS: Record<string, string[]> = {
  'SCT:363698007': ['SRT:G-C0E3'],
};

export function sameCode(a: { value: string; scheme: string } | undefined, b: Code): boolean {
  if (!a) return false;
  if (a.value === b.value && a.scheme === b.scheme) return true;
  return (SYNONYMS[`${b.scheme}:${b.value}`] ?? []).includes(`${a.scheme}:${a.value}`);
}
