/**
 * HL7 v2 codec (ER7, the pipe-and-hat encoding). Segments end with \r. Values are escaped on the
 * way out (\F\ \S\ \T\ \R\ \E\, line breaks as \.br\) and unescaped on the way in.
 * A parsed segment keeps HL7's own numbering: fields[n] is SEG-n (for MSH, fields[1] is the
 * field separator and fields[2] the encoding characters, as the standard counts them).
 */

/**
 * A malformed or refused message. The message names the segment and field, never their content
 * (messages carry patient data; this text reaches ACKs, the rejected-messages table and logs).
 * `hl7Code` is the HL7 table 0357 error code for the ACK's ERR-3, when the thrower knows it.
 */
export class Hl7Error extends Error {
  constructor(message: string, readonly segment?: string, readonly field?: number, readonly hl7Code?: string) {
    super(message);
  }
}

export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

export const DEFAULT_DELIMITERS: Delimiters = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };

export function escapeValue(v: string, d: Delimiters = DEFAULT_DELIMITERS): string {
  let out = '';
  for (const ch of v) {
    if (ch === d.escape) out += `${d.escape}E${d.escape}`;
    else if (ch === d.field) out += `${d.escape}F${d.escape}`;
    else if (ch === d.component) out += `${d.escape}S${d.escape}`;
    else if (ch === d.subcomponent) out += `${d.escape}T${d.escape}`;
    else if (ch === d.repetition) out += `${d.escape}R${d.escape}`;
    else if (ch === '\r') continue;
    else if (ch === '\n') out += `${d.escape}.br${d.escape}`;
    else out += ch;
  }
  return out;
}

export function unescapeValue(v: string, d: Delimiters = DEFAULT_DELIMITERS): string {
  if (!v.includes(d.escape)) return v;
  let out = '';
  let i = 0;
  while (i < v.length) {
    const ch = v[i];
    if (ch !== d.escape) {
      out += ch;
      i++;
      continue;
    }
    const end = v.indexOf(d.escape, i + 1);
    if (end < 0) {
      // A lone escape character: keep it rather than lose data.
      out += v.slice(i);
      break;
    }
    const seq = v.slice(i + 1, end);
    switch (seq) {
      case 'F': out += d.field; break;
      case 'S': out += d.component; break;
      case 'T': out += d.subcomponent; break;
      case 'R': out += d.repetition; break;
      case 'E': out += d.escape; break;
      case '.br': out += '\n'; break;
      default:
        if (/^X[0-9A-Fa-f]+$/.test(seq)) {
          const hex = seq.slice(1);
          for (let k = 0; k + 1 < hex.length; k += 2) out += String.fromCharCode(parseInt(hex.slice(k, k + 2), 16));
        } else if (/^(H|N|\.sp\d*|\.in[+-]?\d*|\.ti[+-]?\d*|\.fi|\.nf|\.ce|\.sk\d*)$/.test(seq)) {
          // formatting commands (highlight, indent...) carry no text
        } else {
          out += v.slice(i, end + 1);
        }
    }
    i = end + 1;
  }
  return out;
}

// ---- building ---------------------------------------------------------------------------------

/** A leaf value; null/undefined are empty. */
export type Leaf = string | number | null | undefined;
/** A component: a value, or its subcomponents. */
export type Component = Leaf | Leaf[];
/** A field: a value, its components, or repetitions of either. */
export type FieldValue = Leaf | Component[] | Repeated;
export class Repeated {
  constructor(readonly values: (Leaf | Component[])[]) {}
}
export const repeat = (...values: (Leaf | Component[])[]): Repeated => new Repeated(values);

const leaf = (v: Leaf, d: Delimiters) => (v === null || v === undefined ? '' : escapeValue(String(v), d));
const comp = (c: Component, d: Delimiters) => (Array.isArray(c) ? trimEnd(c.map((s) => leaf(s, d)), d.subcomponent) : leaf(c, d));
const trimEnd = (parts: string[], sep: string) => {
  let n = parts.length;
  while (n > 0 && parts[n - 1] === '') n--;
  return parts.slice(0, n).join(sep);
};
function fieldStr(f: FieldValue, d: Delimiters): string {
  if (f instanceof Repeated) return f.values.map((v) => fieldStr(v as FieldValue, d)).join(d.repetition);
  if (Array.isArray(f)) return trimEnd(f.map((c) => comp(c, d)), d.component);
  return leaf(f, d);
}

/** One segment as text. `fields[0]` is SEG-1 (for MSH: MSH-3, since MSH-1/2 are written for you). */
export function segment(name: string, fields: FieldValue[], d: Delimiters = DEFAULT_DELIMITERS): string {
  if (!/^[A-Z][A-Z0-9]{2}$/.test(name)) throw new Hl7Error(`bad segment name ${name}`);
  const parts = fields.map((f) => fieldStr(f, d));
  if (name === 'MSH') return trimEnd(['MSH', `${d.component}${d.repetition}${d.escape}${d.subcomponent}`, ...parts], d.field);
  return trimEnd([name, ...parts], d.field);
}

/** Segments joined and terminated by \r, as HL7 requires. */
export function message(segments: string[]): string {
  return segments.map((s) => `${s}\r`).join('');
}

// ---- parsing ----------------------------------------------------------------------------------

/** fields[n][rep][comp][sub], raw (still escaped); use the accessors to read values. */
export interface Segment {
  name: string;
  fields: string[][][][];
}
export interface Message {
  delimiters: Delimiters;
  segments: Segment[];
}

function delimitersOf(msh: string): Delimiters {
  if (msh.length < 8) throw new Hl7Error('MSH segment too short to carry the delimiters', 'MSH', 2);
  const field = msh[3];
  const enc = msh.slice(4, msh.indexOf(field, 4) < 0 ? undefined : msh.indexOf(field, 4));
  if (enc.length < 3) throw new Hl7Error(`MSH-2 encoding characters incomplete (${enc.length} given, need at least ^~\\)`, 'MSH', 2);
  const d: Delimiters = { field, component: enc[0], repetition: enc[1], escape: enc[2], subcomponent: enc[3] ?? '&' };
  if (new Set(Object.values(d)).size !== 5) throw new Hl7Error('MSH-1/MSH-2 delimiters are not distinct', 'MSH', 2);
  return d;
}

function parseSegment(line: string, d: Delimiters, index = 0): Segment {
  const name = line.slice(0, 3);
  // Never quote the line: it may be a patient's name wrapped onto a line of its own.
  if (!/^[A-Z][A-Z0-9]{2}$/.test(name)) throw new Hl7Error(`segment ${index + 1} does not start with a segment name`);
  if (line.length > 3 && line[3] !== d.field) throw new Hl7Error(`segment ${name}: expected "${d.field}" after the name`, name);
  const raw = line.split(d.field);
  let texts: string[];
  if (name === 'MSH' || name === 'BHS' || name === 'FHS') texts = [name, d.field, ...raw.slice(1)];
  else texts = raw;
  const fields = texts.map((t, i) => {
    if (i === 0 || ((name === 'MSH' || name === 'BHS' || name === 'FHS') && (i === 1 || i === 2))) return [[[t]]];
    return t.split(d.repetition).map((r) => r.split(d.component).map((c) => c.split(d.subcomponent)));
  });
  return { name, fields };
}

/** Splits text into segment lines: \r is the terminator; \n and \r\n are tolerated from files. */
export function segmentLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).map((l) => l.replace(/^\s+/, '')).filter((l) => l.length > 0);
}

/** Parses one message (MSH first). Throws Hl7Error naming what is wrong. */
export function parseMessage(text: string): Message {
  const lines = segmentLines(text);
  if (!lines.length) throw new Hl7Error('empty message');
  if (!lines[0].startsWith('MSH')) throw new Hl7Error(`a message must start with MSH${/^[A-Z][A-Z0-9]{2}$/.test(lines[0].slice(0, 3)) ? `, found ${lines[0].slice(0, 3)}` : ''}`, /^[A-Z][A-Z0-9]{2}$/.test(lines[0].slice(0, 3)) ? lines[0].slice(0, 3) : undefined);
  const d = delimitersOf(lines[0]);
  const segments = lines.map((l, i) => parseSegment(l, d, i));
  const extraMsh = segments.findIndex((s, i) => i > 0 && s.name === 'MSH');
  if (extraMsh > 0) throw new Hl7Error(`a second MSH at segment ${extraMsh + 1}: this is a batch, not one message`, 'MSH');
  return { delimiters: d, segments };
}

/**
 * Parses a file or batch (FHS/BHS envelopes around messages, or bare messages) into messages,
 * checking the envelope structure: every segment belongs to a message that starts with MSH, envelopes
 * nest FHS > BHS > MSH without a second header inside an open one, and a batch holds a message.
 * Trailers (BTS/FTS) may be missing, as python-hl7 and real senders allow.
 */
export function parseBatch(text: string): Message[] {
  const lines = segmentLines(text);
  if (!lines.length) throw new Hl7Error('empty input');
  const stack: string[] = [];
  const messages: string[][] = [];
  let current: string[] | null = null;
  const counts: number[] = [];
  for (const [i, line] of lines.entries()) {
    const name = line.slice(0, 3);
    const at = `segment ${i + 1}${/^[A-Z][A-Z0-9]{2}$/.test(name) ? ` (${name})` : ''}`;
    if (name === 'FHS') {
      if (stack.length) throw new Hl7Error(`${at}: FHS inside ${stack[stack.length - 1]}; a file header may only open the input`, name);
      stack.push('FHS');
      current = null;
    } else if (name === 'BHS') {
      if (stack.includes('BHS')) throw new Hl7Error(`${at}: BHS inside an open batch (no BTS closed it)`, name);
      stack.push('BHS');
      counts.push(0);
      current = null;
    } else if (name === 'BTS') {
      // Trailers are optional in practice (python-hl7 accepts a missing or stray one): close if open.
      if (stack[stack.length - 1] === 'BHS') {
        if (counts[counts.length - 1] === 0) throw new Hl7Error(`${at}: batch contains no message (no MSH between BHS and BTS)`, name);
        stack.pop();
      }
      current = null;
    } else if (name === 'FTS') {
      while (stack.length && stack[stack.length - 1] !== 'FHS') stack.pop();
      stack.pop();
      current = null;
    } else if (name === 'MSH') {
      current = [line];
      messages.push(current);
      if (counts.length) counts[counts.length - 1]++;
    } else {
      if (!current) throw new Hl7Error(`${at}: segment outside a message (no MSH before it)`, /^[A-Z][A-Z0-9]{2}$/.test(name) ? name : undefined);
      current.push(line);
    }
  }
  if (!messages.length) throw new Hl7Error('no message (no MSH segment)');
  return messages.map((m) => parseMessage(m.join('\r')));
}

export function segmentsNamed(m: Message, name: string): Segment[] {
  return m.segments.filter((s) => s.name === name);
}

/** The value of SEG-field.component.subcomponent in repetition `rep` (all 1-based), unescaped; '' when absent. */
export function get(m: Message, seg: Segment | string, field: number, component = 1, rep = 1, sub = 1): string {
  const s = typeof seg === 'string' ? m.segments.find((x) => x.name === seg) : seg;
  if (!s) return '';
  const raw = s.fields[field]?.[rep - 1]?.[component - 1]?.[sub - 1];
  if (raw === undefined) return '';
  const isMshHead = (s.name === 'MSH' || s.name === 'BHS' || s.name === 'FHS') && field <= 2;
  return isMshHead ? raw : unescapeValue(raw, m.delimiters);
}

/** The number of repetitions of a field. */
export function repetitions(s: Segment, field: number): number {
  const f = s.fields[field];
  if (!f) return 0;
  return f.length === 1 && f[0].length === 1 && f[0][0].length === 1 && f[0][0][0] === '' ? 0 : f.length;
}

/** HL7 DTM from an ISO instant, in UTC with the offset written out. */
export function hl7DateTime(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) throw new Hl7Error('not a date-time');
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}+0000`;
}
