/**
 * `npm run audit:verify`: walks the audit hash chain in the gateway database and exits 1 naming the
 * first broken record. Reads the database from env DATABASE (default .data/gateway.sqlite).
 */
import fs from 'node:fs';
import { openStore } from '../gateway/db/database.js';
import { verifyChain } from '../gateway/audit/audit.js';

export async function auditVerify(database: string): Promise<{ code: number; message: string }> {
  if (!database.includes('://') && database !== ':memory:' && !fs.existsSync(database)) return { code: 2, message: `audit:verify: no database at ${database}` };
  const store = await openStore(database);
  try {
    const rows = await store.db.selectFrom('audit').selectAll().orderBy('seq').execute();
    const r = verifyChain(rows);
    if (r.ok) return { code: 0, message: `audit chain intact: ${r.count} records` };
    const rec = rows.find((x) => x.seq === r.brokenSeq);
    return { code: 1, message: `audit chain BROKEN at record seq=${r.brokenSeq} (${rec?.action ?? '?'} at ${rec?.at ?? '?'}): ${r.reason}` };
  } finally {
    await store.close();
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${fs.realpathSync(process.argv[1])}`).href;
if (isMain) {
  const { code, message } = await auditVerify(process.env.DATABASE ?? '.data/gateway.sqlite');
  (code === 0 ? console.log : console.error)(message);
  process.exit(code);
}
