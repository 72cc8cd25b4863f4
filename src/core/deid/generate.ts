/**
 * Turns the machine-readable PS3.15 Table E.1-1 (source/confidentiality_profile_attributes.json) into
 * the rule table the de-identifier applies (ps315-table.json). Pure: the CLI scripts/gen-deid-table.ts
 * writes the file, table.test.ts regenerates it and fails on any difference.
 *
 * A row's Basic Profile action may be a choice that depends on the attribute's type in the IOD at hand
 * ("X/Z: X unless Z is required to maintain IOD conformance (Type 3 versus Type 2)", and so on). One
 * table serves every IOD here, so each choice is resolved to the action that keeps any IOD conformant,
 * keeping as little as that allows:
 *  - plain attributes: a choice containing D → D (a dummy value satisfies Type 1, 2 and 3), else one
 *    containing Z → Z (empty satisfies Type 2 and 3), else X;
 *  - sequences: `X/Z/U*` → U (keep the sequence, every UID in it remapped: the references must still
 *    resolve inside the export), a bare D → D (keep the items, each de-identified by this same table:
 *    the structured content of an SR), a choice containing Z → Z (an empty sequence), else X (there is
 *    no dummy value of a sequence that would not carry its items' identity along).
 */
import type { DeidAction, DeidRule, DeidTable, RetainOption } from './table.js';

export interface SourceRow {
  name: string;
  tag: string;
  stdCompIOD?: string;
  basicProfile: string;
  id: string;
  [option: string]: string | undefined;
}

export const OPTION_COLUMNS: readonly RetainOption[] = [
  'rtnSafePrivOpt',
  'rtnUIDsOpt',
  'rtnDevIdOpt',
  'rtnInstIdOpt',
  'rtnPatCharsOpt',
  'rtnLongFullDatesOpt',
  'rtnLongModifDatesOpt',
  'cleanDescOpt',
  'cleanStructContOpt',
  'cleanGraphOpt',
];

/** Keyword and VR of a tag, from the data dictionary (dcmjs's, passed in so this stays pure). */
export type Dictionary = (tag8: string) => { keyword: string; vr: string } | undefined;

/** "(0010,0010)" → "00100010"; "(60XX,3000)" → "60xx3000"; the private-attributes row → "private". */
export function tagKey(tag: string): string {
  if (/WHERE GGGG IS ODD/i.test(tag)) return 'private';
  const m = /^\(([0-9A-Fx]{4}),([0-9A-Fx]{4})\)$/i.exec(tag.trim());
  if (!m) throw new Error(`unrecognised tag ${tag}`);
  const k = (m[1] + m[2]).toUpperCase();
  // Repeating groups keep a lower-case x so they never collide with a real tag.
  return k.replace(/X/g, 'x');
}

export function resolveAction(code: string, vr: string | undefined): DeidAction {
  const parts = code.split('/').map((p) => p.trim());
  if (vr === 'SQ') {
    if (parts.includes('U*')) return 'U';
    if (parts.length === 1) return parts[0] as DeidAction;
    return parts.includes('Z') ? 'Z' : 'X';
  }
  if (parts.length === 1) return parts[0].replace('*', '') as DeidAction;
  if (parts.includes('D')) return 'D';
  if (parts.includes('Z')) return 'Z';
  return 'X';
}

export function generateTable(rows: SourceRow[], dictionary: Dictionary, source: DeidTable['source']): DeidTable {
  const rules: DeidRule[] = rows.map((r) => {
    const tag = tagKey(r.tag);
    const d = /^[0-9A-F]{8}$/.test(tag) ? dictionary(tag) : undefined;
    const options: Partial<Record<RetainOption, string>> = {};
    for (const c of OPTION_COLUMNS) if (r[c]) options[c] = r[c];
    return {
      tag,
      name: r.name.replace(/\s+/g, ' ').replace(/ \(see Note \d+\)$/, '').trim(),
      ...(d ? { keyword: d.keyword, vr: d.vr } : {}),
      basicProfile: r.basicProfile,
      action: resolveAction(r.basicProfile, d?.vr),
      ...(Object.keys(options).length ? { options } : {}),
    };
  });
  rules.sort((a, b) => a.tag.localeCompare(b.tag));
  return { source, rules };
}
