/** The demo studies, referenced in ../shared/data (never copied into the repo). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = process.env.SHARED_DIR ?? path.resolve(REPO_ROOT, '..', 'shared');
export const DICOM = path.join(SHARED, 'data', 'dicom');

export const HEAD_CT_DIR = path.join(DICOM, 'ct-head-ge', 'In', 'GE');
export const CHEST_CR = path.join(DICOM, 'dwv', 'tests', 'data', 'gdcm-CR-MONO1-10-chest.dcm');
export const MR_TRUNCATED = path.join(DICOM, 'pydicom', 'test_files', 'MR_truncated.dcm');

export function headCtFiles(): string[] {
  return fs.readdirSync(HEAD_CT_DIR).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(HEAD_CT_DIR, f));
}

export function mrSeriesFiles(): string[] {
  const dir = path.join(DICOM, 'dwv', 'tests', 'data');
  return fs.readdirSync(dir).filter((f) => f.startsWith('bbmri-')).sort().map((f) => path.join(dir, f));
}

/** One file per transfer syntax in the shared data, plus multi-frame instances. */
export const TRANSFER_SYNTAX_FILES: { syntax: string; uid: string; file: string }[] = [
  { syntax: 'Implicit VR Little Endian', uid: '1.2.840.10008.1.2', file: 'pydicom/test_files/MR_small_implicit.dcm' },
  { syntax: 'Explicit VR Little Endian', uid: '1.2.840.10008.1.2.1', file: 'pydicom/test_files/MR_small.dcm' },
  { syntax: 'Explicit VR Big Endian', uid: '1.2.840.10008.1.2.2', file: 'pydicom/test_files/MR_small_bigendian.dcm' },
  { syntax: 'RLE Lossless', uid: '1.2.840.10008.1.2.5', file: 'pydicom/test_files/MR_small_RLE.dcm' },
  { syntax: 'JPEG Baseline (Process 1)', uid: '1.2.840.10008.1.2.4.50', file: 'pydicom/test_files/SC_rgb_jpeg_dcmtk.dcm' },
  { syntax: 'JPEG Extended (Process 2 & 4)', uid: '1.2.840.10008.1.2.4.51', file: 'pydicom/test_files/JPGExtended.dcm' },
  { syntax: 'JPEG Lossless SV1 (Process 14)', uid: '1.2.840.10008.1.2.4.70', file: 'dwv/tests/data/nema-ct1_jpll.dcm' },
  { syntax: 'JPEG-LS Lossless', uid: '1.2.840.10008.1.2.4.80', file: 'pydicom/test_files/MR_small_jpeg_ls_lossless.dcm' },
  { syntax: 'JPEG 2000 Lossless', uid: '1.2.840.10008.1.2.4.90', file: 'pydicom/test_files/MR_small_jp2klossless.dcm' },
  { syntax: 'JPEG 2000', uid: '1.2.840.10008.1.2.4.91', file: 'pydicom/test_files/JPEG2000.dcm' },
  { syntax: 'HTJ2K Lossless', uid: '1.2.840.10008.1.2.4.201', file: 'pydicom-data/data_store/data/HTJ2KLossless_08_RGB.dcm' },
];

export const MULTIFRAME_FILES = ['dwv/tests/data/multiframe-test1.dcm', 'pydicom-data/data_store/data/emri_small.dcm', 'pydicom-data/data_store/data/eCT_Supplemental.dcm'];

/** Everything `npm start` loads. */
export function demoFiles(): string[] {
  return [
    ...headCtFiles(),
    ...mrSeriesFiles(),
    CHEST_CR,
    ...TRANSFER_SYNTAX_FILES.map((t) => path.join(DICOM, t.file)),
    ...MULTIFRAME_FILES.map((f) => path.join(DICOM, f)),
  ];
}
