/** UIDs under the 2.25 root (ISO/IEC 9834-8: a UUID as one decimal integer), so no registered root is needed. */

function toUid(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes.slice(0, 16)) n = (n << 8n) | BigInt(b);
  return `2.25.${n.toString()}`;
}

/** A fresh random UID. */
export function newUid(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40; // UUID v4 bits, as 9834-8 expects
  b[8] = (b[8] & 0x3f) | 0x80;
  return toUid(b);
}

/**
 * A UID derived from a string, the same on every call: tracking UIDs of a finding and the device
 * observer UID of a model must not change between the AI SR and the verified SR, nor between retries.
 * FNV-1a over four lanes gives 128 bits; collisions only matter within one study.
 */
export function uidFromString(s: string): string {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(16);
  for (let lane = 0; lane < 4; lane++) {
    let h = (0x811c9dc5 ^ (lane * 0x9e3779b1)) >>> 0;
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
    out.set([h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255], lane * 4);
  }
  out[6] = (out[6] & 0x0f) | 0x50; // UUID v5-style bits: name-based
  out[8] = (out[8] & 0x3f) | 0x80;
  return toUid(out);
}

export const isUid = (s: string): boolean => s.length <= 64 && /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(s);
