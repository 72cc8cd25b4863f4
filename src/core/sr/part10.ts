/**
 * A one-pass Explicit VR Little Endian writer for denaturalized datasets (the DICOM JSON model that
 * dcmjs's denaturalizeDataset makes), byte for byte what dcmjs's DicomDict.write produces for the
 * same input. It exists for speed, not for features: dcmjs allocates a stream (with its own
 * TextEncoder) per element and copies every value up through each enclosing sequence, which made
 * writing one AI SR about 9 ms of the gateway's main thread: the largest single cost of an outbox
 * delivery (bench:outbox). Sequences and items are written with undefined length, as dcmjs does, so
 * nothing has to be measured before it is written.
 *
 * It accepts only what it can write exactly as dcmjs would: string VRs, person names, numeric strings,
 * the fixed-size binary numbers, sequences and a single-buffer OB/OW. Anything else (another VR, a
 * value dcmjs would refuse or write in a surprising way, a length past what the VR allows) throws
 * Part10Unsupported, and the caller falls back to dcmjs itself. The unit test holds the two writers to
 * identical bytes over real SRs and over the edge cases.
 */

export class Part10Unsupported extends Error {
  override name = 'Part10Unsupported';
}

type Element = { vr?: string; Value?: unknown; _rawValue?: unknown };
export type DenaturalizedDataset = Record<string, Element>;

/** String VRs dcmjs writes one byte per UTF-16 code unit (its writeAsciiString). */
const ASCII_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'TM', 'UI', 'UR']);
/** String VRs dcmjs writes as UTF-8 (its writeUTF8String); PN is handled apart. */
const UTF8_VRS = new Set(['LO', 'LT', 'SH', 'ST', 'UC', 'UT']);
/** dcmjs refuses (throws on) an ASCII value longer than this; here that is a fallback, so dcmjs says it. */
const ASCII_MAX: Record<string, number> = { AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, DT: 26, IS: 12, TM: 16, UI: 64 };
/** VRs with a 32-bit length field in Explicit VR (PS3.5 7.1.2). */
const LENGTH32 = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const BINARY: Record<string, { size: number; put: (v: DataView, at: number, x: number) => void }> = {
  US: { size: 2, put: (v, at, x) => v.setUint16(at, x, true) },
  SS: { size: 2, put: (v, at, x) => v.setInt16(at, x, true) },
  UL: { size: 4, put: (v, at, x) => v.setUint32(at, x, true) },
  SL: { size: 4, put: (v, at, x) => v.setInt32(at, x, true) },
  FL: { size: 4, put: (v, at, x) => v.setFloat32(at, x, true) },
  FD: { size: 8, put: (v, at, x) => v.setFloat64(at, x, true) },
};
const TAG_KEY = /^[0-9A-Fa-f]{8}$/;
const utf8 = new TextEncoder();

/** dcmjs's DecimalString.convertToString: a number longer than 16 characters is shortened to fit. */
export function decimalString(value: unknown): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'number') throw new Part10Unsupported('DS value is neither a string nor a number');
  const str = String(value);
  if (str.length <= 16) return str;
  const sign = value < 0 ? 1 : 0;
  const log = Math.log10(Math.abs(value));
  if (log < -4 || log >= 14 - sign) {
    const s = value.toExponential(16 - sign);
    return s.length <= 16 ? s : value.toExponential(16 - (s.length - 16) - sign);
  }
  const s = value.toFixed(16 - sign);
  return s.length <= 16 ? s : value.toFixed(16 - sign - (s.length - 16));
}

/** dcmjs's pnObjectToString: components joined by '=', trailing '=' dropped, values by '\'. */
function personName(value: unknown): string {
  // dcmjs boxes names (new String) to hang its accessors on them.
  if (typeof value === 'string' || value instanceof String) return String(value);
  const list = Array.isArray(value) ? value : [value];
  return list
    .filter(Boolean)
    .map((v: unknown) => {
      if (typeof v === 'string' || v instanceof String) return String(v);
      if (typeof v !== 'object') throw new Part10Unsupported('PN value is not a name');
      const o = v as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
      return [o.Alphabetic ?? '', o.Ideographic ?? '', o.Phonetic ?? ''].join('=').replace(/=*$/, '');
    })
    .join('\\');
}

class Out {
  buf = new Uint8Array(16 * 1024);
  view = new DataView(this.buf.buffer);
  pos = 0;
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u16(x: number): void {
    this.room(2);
    this.view.setUint16(this.pos, x, true);
    this.pos += 2;
  }
  u32(x: number): void {
    this.room(4);
    this.view.setUint32(this.pos, x, true);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** One byte per UTF-16 code unit, truncated as DataView.setUint8 does (what dcmjs writes). */
  ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos + i] = s.charCodeAt(i) & 0xff;
    this.pos += s.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** The value bytes of a string element, before padding; null when the element is empty. */
function stringValue(vr: string, value: unknown): Uint8Array | string | null {
  if (value === undefined || value === null || value === '') return null;
  if (vr === 'PN') {
    const s = personName(value);
    // dcmjs's PersonName.checkLength refuses a component group over 64 characters.
    for (const one of s.split('\\')) for (const group of one.split('=')) if (group.length > 64) throw new Part10Unsupported('PN component over 64 characters');
    return s === '' ? null : utf8.encode(s);
  }
  if (!Array.isArray(value)) throw new Part10Unsupported(`${vr} value is not an array`);
  if (!value.length) return null;
  const parts = vr === 'DS' ? value.map(decimalString) : vr === 'IS' ? value.map((x) => (typeof x === 'string' ? x : x === null ? '' : String(x))) : value;
  for (const p of parts) if (typeof p !== 'string') throw new Part10Unsupported(`${vr} value is not a string`);
  const strings = parts as string[];
  if (ASCII_VRS.has(vr)) {
    const max = ASCII_MAX[vr];
    if (max !== undefined) for (const s of strings) if (s.length > (vr === 'DT' && s.includes('-') ? 54 : max)) throw new Part10Unsupported(`${vr} value longer than ${max}`);
    return strings.join('\\');
  }
  return utf8.encode(strings.join('\\'));
}

function writeElement(out: Out, key: string, el: Element): void {
  if (!TAG_KEY.test(key)) throw new Part10Unsupported(`not a tag: ${key}`);
  if (!el || typeof el !== 'object' || '_rawValue' in el) throw new Part10Unsupported(`element ${key} is not a plain element`);
  const vr = el.vr;
  if (typeof vr !== 'string') throw new Part10Unsupported(`element ${key} has no VR`);
  const tag = parseInt(key, 16);
  out.u16(tag >>> 16);
  out.u16(tag & 0xffff);
  out.ascii(vr);
  if (vr === 'SQ') {
    out.u16(0);
    out.u32(0xffffffff);
    const items = el.Value;
    if (items !== undefined && items !== null) {
      if (!Array.isArray(items)) throw new Part10Unsupported(`sequence ${key} is not an array`);
      for (const item of items) {
        if (!item || typeof item !== 'object' || Array.isArray(item)) throw new Part10Unsupported(`item of ${key} is not a dataset`);
        out.u16(0xfffe);
        out.u16(0xe000);
        out.u32(0xffffffff);
        writeDataset(out, item as DenaturalizedDataset);
        out.u16(0xfffe);
        out.u16(0xe00d);
        out.u32(0);
      }
    }
    out.u16(0xfffe);
    out.u16(0xe0dd);
    out.u32(0);
    return;
  }
  let body: Uint8Array | string | null;
  let pad = 0x20;
  const bin = BINARY[vr];
  if (bin) {
    pad = 0;
    const v = el.Value;
    if (v === undefined || v === null || v === '') body = null;
    else {
      // denaturalizeDataset makes numbers strings ("512"); DataView's setters convert them back with
      // ToNumber, as they do in dcmjs: passed on as they are.
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' && typeof x !== 'string')) throw new Part10Unsupported(`${vr} ${key} is not a list of numbers`);
      const b = new Uint8Array(v.length * bin.size);
      const dv = new DataView(b.buffer);
      v.forEach((x: number, i) => bin.put(dv, i * bin.size, x));
      body = b;
    }
  } else if (vr === 'OB' || vr === 'OW') {
    pad = 0;
    const v = el.Value;
    if (!Array.isArray(v) || v.length !== 1 || !(v[0] instanceof ArrayBuffer)) throw new Part10Unsupported(`${vr} ${key} is not one buffer`);
    body = new Uint8Array(v[0]);
  } else if (ASCII_VRS.has(vr) || UTF8_VRS.has(vr) || vr === 'PN') {
    if (vr === 'UI') pad = 0;
    body = stringValue(vr, el.Value);
  } else {
    throw new Part10Unsupported(`VR ${vr} is left to dcmjs`);
  }
  const length = body === null ? 0 : body.length;
  const padded = length + (length & 1);
  if (LENGTH32.has(vr)) {
    out.u16(0);
    out.u32(padded);
  } else {
    // dcmjs would write a value this long as UN with a 32-bit length; leave that to it.
    if (padded >= 0x10000) throw new Part10Unsupported(`${vr} value of ${padded} bytes`);
    out.u16(padded);
  }
  if (typeof body === 'string') out.ascii(body);
  else if (body) out.bytes(body);
  if (length & 1) {
    out.room(1);
    out.buf[out.pos++] = pad;
  }
}

function writeDataset(out: Out, ds: DenaturalizedDataset): void {
  // dcmjs orders elements by the key's string order; for 8-digit hex keys that is tag order.
  for (const key of Object.keys(ds).sort()) writeElement(out, key, ds[key]);
}

/**
 * Part 10 bytes: preamble, "DICM", the file meta group (with its group length) and the dataset in
 * Explicit VR Little Endian. Both arguments are denaturalized; `meta` must name that transfer syntax.
 */
export function writePart10ExplicitLE(meta: DenaturalizedDataset, dataset: DenaturalizedDataset): Uint8Array {
  const ts = meta['00020010']?.Value;
  if (!Array.isArray(ts) || ts[0] !== '1.2.840.10008.1.2.1') throw new Part10Unsupported('only Explicit VR Little Endian');
  const metaOut = new Out();
  writeDataset(metaOut, meta);
  const metaBytes = metaOut.result();
  const out = new Out();
  out.room(128 + 4 + 12 + metaBytes.length);
  out.pos = 128; // the preamble: zeros
  out.ascii('DICM');
  writeElement(out, '00020000', { vr: 'UL', Value: [metaBytes.length] });
  out.bytes(metaBytes);
  writeDataset(out, dataset);
  return out.result();
}
