/**
 * The de-identifier: a DICOM dataset in (dcmjs's tag-keyed form, the DICOM JSON model: `{ "00100010":
 * { vr, Value } }`), a new dataset out, by the PS3.15 Basic Application Level Confidentiality Profile
 * as generated from the standard's table (table.ts). Pure: the UID replacement is a function the
 * caller hands in (one per export, so the same UID maps to the same new UID in every file of it).
 *
 *  - X: removed; Z: kept, zero length; D: a dummy value of the VR (a sequence: its items kept, each
 *    de-identified by this same table, which is how an SR's structured content survives); K: kept;
 *    C: cleaning is not implemented, so the Basic Profile action applies; U: every UID replaced.
 *  - Private attributes (odd groups), curve groups (50xx) and the overlay groups (60xx) whose Overlay Data the profile
 *    removes go whole (an overlay without its data is not a valid overlay).
 *  - UIDs the table does not list are replaced too unless they are DICOM's own (1.2.840.10008.*) or
 *    name a class or a syntax (SOP Class, Transfer Syntax, Coding Scheme): an instance UID the table
 *    missed must not carry the original identity out.
 *  - Sequences are recursed; the same rules apply at every depth.
 *  - Patient Identity Removed (0012,0062) = YES, De-identification Method (0012,0063) and its Code
 *    Sequence (0012,0064): DCM 113100 and a code per option used.
 *  - An image whose Burned In Annotation (0028,0301) is YES is refused (BurnedInAnnotationError): text
 *    in the pixels cannot be removed by attribute rules.
 */
import { DEID_METHOD_CODES, PS315_TABLE, type DeidAction, type DeidRule, type RetainOption } from './table.js';

export interface DicomElement {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
  [k: string]: unknown;
}
export type DicomDict = Record<string, DicomElement>;

export interface DeidOptions {
  /** Replaces one UID; must be deterministic within one export. */
  remapUid: (uid: string) => string;
  /** Options of PS3.15 E.3 whose K column is honoured (their codes go into 0012,0064). */
  options?: readonly RetainOption[];
}

export class BurnedInAnnotationError extends Error {
  readonly code = 'burned-in-annotation';
  constructor() {
    super('the image is flagged Burned In Annotation (0028,0301) = YES: text in its pixels cannot be removed, so it is not exported');
    this.name = 'BurnedInAnnotationError';
  }
}

const RULES = new Map<string, DeidRule>(PS315_TABLE.rules.map((r) => [r.tag, r]));
const OVERLAY_RULE = RULES.get('60xx3000');
const CURVE_RULE = RULES.get('50xxxxxx');

/** Tags whose UI value names a class or a syntax, never an instance (kept when the table is silent). */
const CLASS_UIDS = new Set([
  '00020002', // Media Storage SOP Class UID
  '00020010', // Transfer Syntax UID
  '00020012', // Implementation Class UID
  '00080016', // SOP Class UID
  '0008001A', // Related General SOP Class UID
  '0008001B', // Original Specialized SOP Class UID
  '0008010C', // Coding Scheme UID
  '00080062', // SOP Classes in Study
  '00081150', // Referenced SOP Class UID
  '0008115A', // SOP Classes Supported
  '00040510', // Referenced Transfer Syntax UID in File
  '00041510', // Referenced SOP Class UID in File
]);

export const DEID_METHOD_TEXT = 'PS3.15 Basic Application Level Confidentiality Profile';

const isDicomUid = (v: string) => v.startsWith('1.2.840.10008.');

function effectiveAction(rule: DeidRule, options: readonly RetainOption[]): DeidAction {
  // An option retains what its column marks K; a C (clean) is not implemented, so the basic action stands.
  for (const o of options) if (rule.options?.[o] === 'K') return 'K';
  return rule.action;
}

function dummyFor(el: DicomElement): unknown[] {
  switch (el.vr) {
    case 'PN':
      return [{ Alphabetic: 'ANONYMIZED' }];
    case 'DA':
      return ['19000101'];
    case 'TM':
      return ['000000'];
    case 'DT':
      return ['19000101000000'];
    case 'AS':
      return ['000Y'];
    case 'IS':
    case 'DS':
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
    case 'FL':
    case 'FD':
    case 'UV':
    case 'SV':
      return [0];
    case 'AE':
      return ['ANONYMIZED'];
    case 'CS':
      return ['ANONYMIZED'];
    case 'UI':
      return [];
    case 'OB':
    case 'OW':
    case 'OD':
    case 'OF':
    case 'OL':
    case 'OV':
    case 'UN':
      return [];
    default:
      return ['ANONYMIZED'];
  }
}

function remapValues(el: DicomElement, remap: (u: string) => string): DicomElement {
  const Value = (el.Value ?? []).map((v) => (typeof v === 'string' && v.trim() ? remap(v.trim().replace(/\0+$/, '')) : v));
  return { vr: el.vr, Value };
}

function groupOf(tag: string): number {
  return parseInt(tag.slice(0, 4), 16);
}

/** De-identifies one dataset level and, through sequences, every level below it. */
function deidLevel(dict: DicomDict, o: Required<DeidOptions>, used: Set<RetainOption>): DicomDict {
  const out: DicomDict = {};
  // Overlay groups whose Overlay Data the profile removes go as a whole.
  const overlayGone = OVERLAY_RULE && effectiveAction(OVERLAY_RULE, o.options) === 'X';
  for (const [tagRaw, el] of Object.entries(dict)) {
    const tag = tagRaw.toUpperCase();
    const group = groupOf(tag);
    if (group % 2 === 1) {
      const rule = RULES.get('private');
      if (rule && effectiveAction(rule, o.options) === 'K') {
        used.add('rtnSafePrivOpt');
        out[tagRaw] = el;
      }
      continue;
    }
    if (group >= 0x6000 && group <= 0x601e && overlayGone) continue;
    if (group >= 0x5000 && group <= 0x501e && CURVE_RULE && effectiveAction(CURVE_RULE, o.options) === 'X') continue;
    const rule = RULES.get(tag);
    if (!rule) {
      out[tagRaw] = keepUnlisted(tag, el, o, used);
      continue;
    }
    const action = effectiveAction(rule, o.options);
    if (action === 'K' && rule.action !== 'K') for (const opt of o.options) if (rule.options?.[opt] === 'K') used.add(opt);
    const next = apply(action, el, o, used);
    if (next) out[tagRaw] = next;
  }
  return out;
}

/** An attribute the table does not list: kept, but its sequences are recursed and its instance UIDs replaced. */
function keepUnlisted(tag: string, el: DicomElement, o: Required<DeidOptions>, used: Set<RetainOption>): DicomElement {
  if (el.vr === 'SQ') return { vr: 'SQ', Value: (el.Value ?? []).map((item) => deidLevel(item as DicomDict, o, used)) };
  if (el.vr === 'UI' && !CLASS_UIDS.has(tag)) {
    return { vr: 'UI', Value: (el.Value ?? []).map((v) => (typeof v === 'string' && v.trim() && !isDicomUid(v.trim()) ? o.remapUid(v.trim().replace(/\0+$/, '')) : v)) };
  }
  return el;
}

function apply(action: DeidAction, el: DicomElement, o: Required<DeidOptions>, used: Set<RetainOption>): DicomElement | null {
  switch (action) {
    case 'X':
      return null;
    case 'Z':
      return { vr: el.vr, Value: [] };
    case 'K':
      return el.vr === 'SQ' ? { vr: 'SQ', Value: (el.Value ?? []).map((i) => deidLevel(i as DicomDict, o, used)) } : el;
    case 'U':
      if (el.vr === 'SQ') return { vr: 'SQ', Value: (el.Value ?? []).map((i) => deidLevel(i as DicomDict, o, used)) };
      return remapValues(el, o.remapUid);
    case 'D':
    case 'C':
      if (el.vr === 'SQ') return { vr: 'SQ', Value: (el.Value ?? []).map((i) => deidLevel(i as DicomDict, o, used)) };
      // Present but empty stays empty (a Type 2 attribute with no value carries nothing to hide).
      if (!el.Value?.length && !el.InlineBinary) return { vr: el.vr, Value: [] };
      return { vr: el.vr, Value: dummyFor(el) };
  }
}

export function burnedIn(dict: DicomDict): boolean {
  const v = dict['00280301']?.Value?.[0];
  return typeof v === 'string' && v.trim().toUpperCase() === 'YES';
}

export interface DeidDataset {
  meta: DicomDict;
  dict: DicomDict;
}

/**
 * De-identifies a Part 10 dataset (file meta + dataset). Throws BurnedInAnnotationError for an image
 * flagged Burned In Annotation = YES. The input is not modified.
 */
export function deidentify(ds: DeidDataset, opts: DeidOptions): DeidDataset & { optionsUsed: RetainOption[] } {
  if (burnedIn(ds.dict)) throw new BurnedInAnnotationError();
  const o: Required<DeidOptions> = { remapUid: opts.remapUid, options: opts.options ?? [] };
  const used = new Set<RetainOption>();
  const dict = deidLevel(ds.dict, o, used);
  const optionsUsed = [...used].sort();
  dict['00120062'] = { vr: 'CS', Value: ['YES'] };
  dict['00120063'] = { vr: 'LO', Value: [DEID_METHOD_TEXT] };
  dict['00120064'] = {
    vr: 'SQ',
    Value: [DEID_METHOD_CODES.basic, ...optionsUsed.map((u) => DEID_METHOD_CODES[u])].map((c) => ({
      '00080100': { vr: 'SH', Value: [c.value] },
      '00080102': { vr: 'SH', Value: ['DCM'] },
      '00080104': { vr: 'LO', Value: [c.meaning] },
    })),
  };
  const meta: DicomDict = { ...ds.meta };
  const msi = meta['00020003'];
  if (msi) meta['00020003'] = remapValues(msi, o.remapUid);
  // The meta's SOP Instance UID must equal the dataset's (both were remapped with the same map).
  return { meta, dict: sortDict(dict), optionsUsed };
}

/** Tags in ascending order (dcmjs writes in object order; DICOM requires ascending). */
function sortDict(d: DicomDict): DicomDict {
  const out: DicomDict = {};
  for (const k of Object.keys(d).sort((a, b) => a.toUpperCase().localeCompare(b.toUpperCase()))) out[k] = d[k];
  return out;
}
