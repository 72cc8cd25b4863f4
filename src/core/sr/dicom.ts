/**
 * The one place that touches dcmjs: Part 10 bytes <-> naturalized datasets.
 * dcmjs ships no type declarations, so it is imported untyped here and given a small typed face;
 * everything else in src/core/sr works on plain `Dataset` objects.
 */
// @ts-ignore dcmjs has no type declarations (the ignore also survives someone adding them later)
import * as dcmjsNs from 'dcmjs';

/** A naturalized dcmjs dataset: keywords as keys, sequences as arrays of datasets. */
export type Dataset = Record<string, unknown>;

interface DcmjsData {
  DicomMessage: { readFile(buf: ArrayBuffer, opts?: object): { meta: object; dict: object } };
  DicomMetaDictionary: {
    naturalizeDataset(dict: object): Dataset;
    denaturalizeDataset(ds: Dataset): object;
    uid(): string;
  };
  DicomDict: new (meta: object) => { dict: object; write(opts?: object): ArrayBuffer };
}
interface Dcmjs {
  data: DcmjsData;
  adapters: Record<string, unknown>;
}

// The CommonJS build arrives as a namespace with `default` under some loaders (tsx, vitest) and flat under Vite.
const ns = dcmjsNs as unknown as Dcmjs & { default?: Dcmjs };
export const dcmjs: Dcmjs = ns.data ? ns : (ns.default as Dcmjs);

import { Part10Unsupported, writePart10ExplicitLE, type DenaturalizedDataset } from './part10.js';

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

export class DicomParseError extends Error {}

/** Reads a DICOM Part 10 file into a naturalized dataset. `_meta` carries the file meta group (naturalized). */
export function parseDicomPart10(buffer: ArrayBuffer | Uint8Array): Dataset {
  const ab =
    buffer instanceof Uint8Array ? (buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer) : buffer;
  let file: { meta: object; dict: object };
  try {
    file = dcmjs.data.DicomMessage.readFile(ab);
  } catch (e) {
    throw new DicomParseError(`not a readable DICOM Part 10 file: ${(e as Error).message}`);
  }
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict);
  ds._meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.meta);
  return ds;
}

/** The file meta group of a dataset we write, and the dataset without its reader-side extras. */
function metaOf(dataset: Dataset): { meta: Dataset; rest: Dataset } {
  const { _meta, _vrMap, ...rest } = dataset;
  void _meta;
  void _vrMap;
  const sopClass = String(rest.SOPClassUID ?? '');
  const sopInstance = String(rest.SOPInstanceUID ?? '');
  if (!sopClass || !sopInstance) throw new Error('dataset needs SOPClassUID and SOPInstanceUID');
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sopInstance,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: '2.25.183747212347123471237412374123',
    ImplementationVersionName: 'RS_SR_1',
  };
  return { meta, rest };
}

/** Writes a naturalized dataset as Part 10, Explicit VR Little Endian, with a complete file meta group. */
export function writeDicomPart10(dataset: Dataset): Uint8Array {
  const { meta, rest } = metaOf(dataset);
  const denaturalizedMeta = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta);
  const denaturalized = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(rest);
  try {
    // dcmjs's bytes, an order of magnitude sooner (part10.ts); what it does not take, dcmjs writes.
    return writePart10ExplicitLE(denaturalizedMeta as DenaturalizedDataset, denaturalized as DenaturalizedDataset);
  } catch (e) {
    if (!(e instanceof Part10Unsupported)) throw e;
  }
  const dict = new dcmjs.data.DicomDict(denaturalizedMeta);
  dict.dict = denaturalized;
  return new Uint8Array(dict.write());
}

/** dcmjs's own writer, always: the reference part10.ts is tested against. */
export function writeDicomPart10WithDcmjs(dataset: Dataset): Uint8Array {
  const { meta, rest } = metaOf(dataset);
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(rest);
  return new Uint8Array(dict.write());
}
