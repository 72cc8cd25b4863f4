/**
 * Deflated Explicit VR Little Endian (1.2.840.10008.1.2.1.99, PS3.5 A.5): after the File Meta
 * Information, the whole data set is one raw deflate stream. Orthanc cannot hand out such an
 * instance's frames as stored, and the browser's file loader does not inflate it, so the viewer
 * turns the Part 10 file into plain Explicit VR Little Endian before decoding: the data set is
 * inflated (by the platform's DecompressionStream in the browser, zlib in tests) and the meta's
 * Transfer Syntax UID and group length are rewritten. Pure apart from the inflater it is given.
 */
export const DEFLATED_EXPLICIT_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

interface MetaElement {
  tag: number;
  vr: string;
  value: Uint8Array;
}

/** The File Meta Information elements and where the data set starts, or null when not Part 10. */
export function readFileMeta(bytes: Uint8Array): { elements: MetaElement[]; dataSetOffset: number } | null {
  if (bytes.length < 132 || String.fromCharCode(...bytes.subarray(128, 132)) !== 'DICM') return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: MetaElement[] = [];
  let p = 132;
  while (p + 8 <= bytes.length && dv.getUint16(p, true) === 0x0002) {
    const tag = (dv.getUint16(p, true) << 16) | dv.getUint16(p + 2, true);
    const vr = String.fromCharCode(bytes[p + 4], bytes[p + 5]);
    let len: number;
    let head: number;
    if (LONG_VRS.has(vr)) {
      len = dv.getUint32(p + 8, true);
      head = 12;
    } else {
      len = dv.getUint16(p + 6, true);
      head = 8;
    }
    if (p + head + len > bytes.length) return null;
    elements.push({ tag, vr, value: bytes.subarray(p + head, p + head + len) });
    p += head + len;
  }
  return { elements, dataSetOffset: p };
}

export function transferSyntaxOfFile(bytes: Uint8Array): string | undefined {
  const ts = readFileMeta(bytes)?.elements.find((e) => e.tag === 0x00020010);
  return ts ? new TextDecoder().decode(ts.value).replace(/[\0 ]+$/, '') : undefined;
}

function encodeElement(e: MetaElement): Uint8Array {
  const long = LONG_VRS.has(e.vr);
  const out = new Uint8Array((long ? 12 : 8) + e.value.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, e.tag >>> 16, true);
  dv.setUint16(2, e.tag & 0xffff, true);
  out[4] = e.vr.charCodeAt(0);
  out[5] = e.vr.charCodeAt(1);
  if (long) dv.setUint32(8, e.value.length, true);
  else dv.setUint16(6, e.value.length, true);
  out.set(e.value, long ? 12 : 8);
  return out;
}

/**
 * The same instance as Explicit VR Little Endian when it is deflated; any other file is returned as
 * it is (the same array). Throws when the deflate stream is corrupt.
 */
export async function inflatePart10(bytes: Uint8Array, inflateRaw: (deflated: Uint8Array) => Promise<Uint8Array>): Promise<Uint8Array> {
  const meta = readFileMeta(bytes);
  if (!meta || transferSyntaxOfFile(bytes) !== DEFLATED_EXPLICIT_LE) return bytes;
  const ts = new TextEncoder().encode(EXPLICIT_LE + '\0'); // UI: padded to even length with NUL
  const rest = meta.elements.filter((e) => e.tag !== 0x00020000).map((e) => (e.tag === 0x00020010 ? { ...e, value: ts } : e)).map(encodeElement);
  const metaLength = rest.reduce((n, e) => n + e.length, 0);
  const groupLength = encodeElement({ tag: 0x00020000, vr: 'UL', value: new Uint8Array(new Uint32Array([metaLength]).buffer) });
  const body = await inflateRaw(bytes.subarray(meta.dataSetOffset));
  const out = new Uint8Array(132 + groupLength.length + metaLength + body.length);
  out.set(bytes.subarray(0, 132), 0);
  let p = 132;
  for (const part of [groupLength, ...rest, body]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** The browser's raw-deflate inflater (DecompressionStream, no library). */
export async function inflateRawInBrowser(deflated: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([deflated as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
