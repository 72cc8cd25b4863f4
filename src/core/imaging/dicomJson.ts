/**
 * Reading the DICOM JSON model (PS3.18 F.2) that QIDO-RS and WADO-RS metadata return:
 * `{ "00200032": { "vr": "DS", "Value": [..] } }`. Values may be numbers or numeric strings.
 */
import { formatDate } from '../format/dates.js';

export interface DicomJsonAttribute {
  vr: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}
export type DicomJson = Record<string, DicomJsonAttribute | undefined>;

export const TAG = {
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SOPInstanceUID: '00080018',
  SOPClassUID: '00080016',
  Rows: '00280010',
  PixelSpacing: '00280030',
  PixelMeasuresSequence: '00289110',
  SliceThickness: '00180050',
  SliceLocation: '00201041',
  PatientSex: '00100040',
  PatientAge: '00101010',
  PatientBirthDate: '00100030',
  PixelRepresentation: '00280103',
  Columns: '00280011',
  PatientName: '00100010',
  PatientID: '00100020',
  StudyDate: '00080020',
  StudyTime: '00080030',
  StudyDescription: '00081030',
  AccessionNumber: '00080050',
  ModalitiesInStudy: '00080061',
  Modality: '00080060',
  SeriesDescription: '0008103E',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  NumberOfStudyRelatedInstances: '00201208',
  NumberOfSeriesRelatedInstances: '00201209',
  NumberOfFrames: '00280008',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
  PhotometricInterpretation: '00280004',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  RescaleSlope: '00281053',
  RescaleIntercept: '00281052',
  VOILUTSequence: '00283010',
  LUTDescriptor: '00283002',
  LUTData: '00283006',
  VOILUTFunction: '00281056',
  FrameVOILUTSequence: '00289132',
  PerFrameFunctionalGroupsSequence: '52009230',
  SharedFunctionalGroupsSequence: '52009229',
  PlanePositionSequence: '00209113',
  PlaneOrientationSequence: '00209116',
  TransferSyntaxUID: '00020010',
} as const;

export function values(ds: DicomJson | undefined, tag: string): unknown[] {
  return ds?.[tag]?.Value ?? [];
}

export function str(ds: DicomJson | undefined, tag: string): string | undefined {
  const v = values(ds, tag)[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && v !== null && 'Alphabetic' in v) return String((v as { Alphabetic?: string }).Alphabetic ?? '');
  return String(v);
}

export function nums(ds: DicomJson | undefined, tag: string): number[] | undefined {
  const vs = values(ds, tag);
  if (!vs.length) return undefined;
  const out = vs.map((v) => (typeof v === 'number' ? v : Number(String(v).trim())));
  return out.every((n) => Number.isFinite(n)) ? out : undefined;
}

export function num(ds: DicomJson | undefined, tag: string): number | undefined {
  return nums(ds, tag)?.[0];
}

export function seq(ds: DicomJson | undefined, tag: string): DicomJson[] {
  return values(ds, tag) as DicomJson[];
}

/** PN for display: "Family^Given^Middle^Prefix^Suffix" -> "Family, Given Middle". */
export function formatPersonName(pn: string | undefined): string {
  if (!pn) return '';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = pn.split('=')[0].split('^');
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(' ');
  return family && rest ? `${family}, ${rest}` : family || rest;
}

/** DA "YYYYMMDD" -> "YYYY-MM-DD" through THE date format (src/core/format/dates.ts); left as is when not a date. */
export function formatDicomDate(da: string | undefined): string {
  if (!da) return '';
  return formatDate(da) || da;
}
