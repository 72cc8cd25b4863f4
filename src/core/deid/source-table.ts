/** Node-side glue of the generator: reads the committed source and dcmjs's dictionary, returns the JSON text. */
import fs from 'node:fs';
import path from 'node:path';
import { dcmjs } from '../sr/dicom.js';
import { generateTable, type SourceRow } from './generate.js';

export const SOURCE = {
  upstream: 'https://github.com/innolitics/dicom-standard',
  path: 'standard/confidentiality_profile_attributes.json',
  commit: '0d01bf11dfc1d0b73b6df85bbf6e1764d3c558a3',
  licence: 'MIT',
  standard: 'DICOM PS3.15 Annex E, Table E.1-1',
};

type Dict = Record<string, { name: string; vr: string }>;

export function buildTableFromSource(root: string): string {
  const rows = JSON.parse(fs.readFileSync(path.join(root, 'src/core/deid/source/confidentiality_profile_attributes.json'), 'utf8')) as SourceRow[];
  const dict = (dcmjs.data.DicomMetaDictionary as unknown as { dictionary: Dict }).dictionary;
  const table = generateTable(rows, (t) => {
    const e = dict[`(${t.slice(0, 4)},${t.slice(4)})`];
    return e ? { keyword: e.name, vr: e.vr } : undefined;
  }, SOURCE);
  return JSON.stringify(table, null, 1) + '\n';
}
