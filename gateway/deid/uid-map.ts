/**
 * The consistent UID replacement of one export: HMAC-SHA256 of the original UID under a secret made for
 * that export (or kept per model for the external AI, so a re-sent study keeps its de-identified UIDs),
 * first 128 bits read as an integer → "2.25.<decimal>" (PS3.5 B.2, UUID-derived UIDs). Same input →
 * same output within the map; without the secret the original cannot be recomputed or guessed from a
 * list of candidates. The reverse map stays in memory / in the gateway's database, never in the export.
 */
import crypto from 'node:crypto';

export interface UidMap {
  remap(uid: string): string;
  /** original → de-identified, for every UID replaced so far. */
  entries(): [string, string][];
  /** de-identified → original, for the UIDs this map produced. */
  reverse(deid: string): string | undefined;
}

export function deidUid(secret: Buffer, uid: string): string {
  const h = crypto.createHmac('sha256', secret).update(uid).digest();
  return '2.25.' + BigInt('0x' + h.subarray(0, 16).toString('hex')).toString(10);
}

export function createUidMap(secret: Buffer = crypto.randomBytes(32)): UidMap {
  const fwd = new Map<string, string>();
  const back = new Map<string, string>();
  return {
    remap(uid) {
      let v = fwd.get(uid);
      if (!v) {
        v = deidUid(secret, uid);
        fwd.set(uid, v);
        back.set(v, uid);
      }
      return v;
    },
    entries: () => [...fwd.entries()],
    reverse: (d) => back.get(d),
  };
}
