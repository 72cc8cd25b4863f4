/**
 * `npm run audit:verify`: walks the audit chain in the gateway database and exits 1 naming the first
 * broken record: a broken link, content that does not match its hash, or a MAC that does not hold under
 * the audit key (so a row rewritten with SQL fails even when the plain hash chain was recomputed).
 * Reads the database from env DATABASE (default .data/gateway.sqlite) and the key the gateway uses:
 * env AUDIT_KEY, else AUDIT_KEY_FILE, else `<database>.audit-key`. Never creates a key or a database.
 * The newest record must match the checkpoint kept outside the database (gateway/audit/key.ts writeHead),
 * so deleting the newest records is noticed too.
 * Exit codes: 0 intact, 1 broken, 2 no database or no key.
 */
import fs from 'node:fs';
import { openStore } from '../gateway/db/database.js';
import { checkHead, verifyChain } from '../gateway/audit/audit.js';
import { AuditKeyError, auditKeyOf } from '../gateway/audit/key.js';

export async function auditVerify(database: string, keyOpts: { key?: string; keyFile?: string } = {}): Promise<{ code: number; message: string }> {
  if (!database.includes('://') && database !== ':memory:' && !fs.existsSync(database)) return { code: 2, message: `audit:verify: no database at ${database}` };
  let store;
  try {
    store = await openStore(database, { ...keyOpts, create: false });
  } catch (e) {
    if (e instanceof AuditKeyError) return { code: 2, message: `audit:verify: ${e.message}` };
    throw e;
  }
  try {
    const rows = await store.db.selectFrom('audit').selectAll().orderBy('seq').execute();
    const k = auditKeyOf(store.db);
    const r = verifyChain(rows, k.key);
    if (!r.ok) {
      const rec = rows.find((x) => x.seq === r.brokenSeq);
      return { code: 1, message: `audit chain BROKEN at record seq=${r.brokenSeq} (${rec?.action ?? '?'} at ${rec?.at ?? '?'}): ${r.reason}` };
    }
    const h = checkHead(rows, k);
    if (h) return { code: 1, message: `audit chain BROKEN at record seq=${h.brokenSeq}: ${h.reason}` };
    return { code: 0, message: `audit chain intact: ${r.count} records, every MAC verified${k.headFile && fs.existsSync(k.headFile) ? ', newest record matches the checkpoint' : ''}` };
  } finally {
    await store.close();
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${fs.realpathSync(process.argv[1])}`).href;
if (isMain) {
  const { code, message } = await auditVerify(process.env.DATABASE ?? '.data/gateway.sqlite', { key: process.env.AUDIT_KEY || undefined, keyFile: process.env.AUDIT_KEY_FILE || undefined });
  (code === 0 ? console.log : console.error)(message);
  process.exit(code);
}
