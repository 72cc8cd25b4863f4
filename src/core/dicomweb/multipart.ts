/** multipart/related bodies as WADO-RS returns them (frames, instances). Pure. */

/**
 * The part of a single-part multipart/related body (WADO-RS answers one part per requested frame or
 * instance, and we ask for one), with that part's own Content-Type.
 */
export function singlePart(body: Uint8Array, contentType: string): { bytes: Uint8Array; contentType: string | undefined } {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) return { bytes: body, contentType };
  const enc = new TextEncoder();
  const boundary = enc.encode(`--${m[1]}`);
  const find = (needle: Uint8Array, from: number) => {
    outer: for (let i = from; i <= body.length - needle.length; i++) {
      for (let j = 0; j < needle.length; j++) if (body[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  };
  const start = find(boundary, 0);
  const headersEnd = start < 0 ? -1 : find(enc.encode('\r\n\r\n'), start);
  if (start < 0 || headersEnd < 0) throw new Error('malformed multipart response');
  const headers = new TextDecoder().decode(body.subarray(start + boundary.length, headersEnd));
  const partType = /^content-type:\s*(.+)$/im.exec(headers)?.[1]?.trim();
  // Search for the closing boundary from the end: a frame is large and its own bytes may, by chance,
  // contain anything; the last boundary is the terminator.
  let end = -1;
  for (let i = body.length - boundary.length; i > headersEnd; i--) {
    let hit = true;
    for (let j = 0; j < boundary.length; j++)
      if (body[i + j] !== boundary[j]) {
        hit = false;
        break;
      }
    if (hit) {
      end = i;
      break;
    }
  }
  // The part ends with CRLF before the next boundary.
  return { bytes: body.subarray(headersEnd + 4, end < 0 ? body.length : end - 2), contentType: partType };
}

/** The bytes of a single-part multipart/related body. */
export function firstMultipartPart(body: Uint8Array, contentType: string): Uint8Array {
  return singlePart(body, contentType).bytes;
}

/** The transfer-syntax parameter of a WADO-RS part type (PS3.18 8.7.3.5.2); implicit LE when absent. */
export function transferSyntaxOf(contentType: string | undefined): string {
  const m = /transfer-syntax\s*=\s*"?([0-9.]+)"?/i.exec(contentType ?? '');
  return m ? m[1] : '1.2.840.10008.1.2';
}
