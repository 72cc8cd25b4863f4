/**
 * The PS3.15 Basic Application Level Confidentiality Profile as data: ps315-table.json, generated from
 * the standard's Table E.1-1 (see generate.ts and source/PROVENANCE.md). Never edit the JSON by hand.
 */
import table from './ps315-table.json';

/** D dummy value, Z zero length, X remove, K keep, C clean, U replace UID (consistently within an export). */
export type DeidAction = 'D' | 'Z' | 'X' | 'K' | 'C' | 'U';

/** The options' columns of Table E.1-1 (PS3.15 E.3). */
export type RetainOption =
  | 'rtnSafePrivOpt'
  | 'rtnUIDsOpt'
  | 'rtnDevIdOpt'
  | 'rtnInstIdOpt'
  | 'rtnPatCharsOpt'
  | 'rtnLongFullDatesOpt'
  | 'rtnLongModifDatesOpt'
  | 'cleanDescOpt'
  | 'cleanStructContOpt'
  | 'cleanGraphOpt';

export interface DeidRule {
  /** 8 upper-case hex digits; a repeating group with lower-case x ("60xx3000"); or "private". */
  tag: string;
  name: string;
  keyword?: string;
  vr?: string;
  /** The Basic Profile column as the standard writes it (e.g. "X/Z/D"). */
  basicProfile: string;
  /** What the de-identifier does (generate.ts resolveAction). */
  action: DeidAction;
  options?: Partial<Record<RetainOption, string>>;
}

export interface DeidTable {
  source: { upstream: string; path: string; commit: string; licence: string; standard: string };
  rules: DeidRule[];
}

export const PS315_TABLE = table as DeidTable;

/**
 * The codes of CID 7050 (De-identification Method) for the profile and its options (PS3.16), as
 * De-identification Method Code Sequence (0012,0064) items.
 */
export const DEID_METHOD_CODES: Record<'basic' | RetainOption, { value: string; meaning: string }> = {
  basic: { value: '113100', meaning: 'Basic Application Confidentiality Profile' },
  cleanGraphOpt: { value: '113103', meaning: 'Clean Graphics Option' },
  cleanStructContOpt: { value: '113104', meaning: 'Clean Structured Content Option' },
  cleanDescOpt: { value: '113105', meaning: 'Clean Descriptors Option' },
  rtnLongFullDatesOpt: { value: '113106', meaning: 'Retain Longitudinal Temporal Information Full Dates Option' },
  rtnLongModifDatesOpt: { value: '113107', meaning: 'Retain Longitudinal Temporal Information Modified Dates Option' },
  rtnPatCharsOpt: { value: '113108', meaning: 'Retain Patient Characteristics Option' },
  rtnDevIdOpt: { value: '113109', meaning: 'Retain Device Identity Option' },
  rtnUIDsOpt: { value: '113110', meaning: 'Retain UIDs Option' },
  rtnSafePrivOpt: { value: '113111', meaning: 'Retain Safe Private Option' },
  rtnInstIdOpt: { value: '113112', meaning: 'Retain Institution Identity Option' },
};
