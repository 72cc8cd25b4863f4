/**
 * The gateway's MLLP listener against python-hl7's own client (mllp_send, Debian python3-hl7):
 * orders are stored and served to the worklist; every malformed sample gets AE/AR with a reason, is kept
 * for an admin, and the listener keeps answering.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startStack, login, type Stack } from '../../test/harness.js';
import { freePort } from '../../scripts/lib/orthanc.js';
import { SHARED } from '../../scripts/lib/demo-data.js';
import { message, segment } from '../../src/core/hl7/codec.js';

const HL7_DIR = path.join(SHARED, 'data', 'hl7', 'python-hl7');
let stack: Stack;
let port: number;

/**
 * Sends one file with mllp_send (it exits 0 even on AE/AR) and returns the ACK's MSA fields.
 * Asynchronous: the listener runs in this process and must keep answering while the client waits.
 */
async function mllpSend(file: string): Promise<{ code: string; controlId: string; text: string; raw: string }> {
  const { stdout: out } = await promisify(execFile)('/usr/bin/mllp_send', ['--loose', '-p', String(port), '-f', file, '127.0.0.1'], { encoding: 'utf8', timeout: 30_000 });
  const msa = out.split(/\r|\n/).find((l) => l.startsWith('MSA'));
  if (!msa) throw new Error(`no MSA in the answer: ${JSON.stringify(out)}`);
  const [, code, controlId, text] = msa.split('|');
  return { code, controlId, text: text ?? '', raw: out };
}

beforeAll(async () => {
  port = await freePort();
  stack = await startStack({ config: { outbox: { mllpPort: port, worker: false } } });
});
afterAll(async () => stack?.stop());

describe('MLLP listener', () => {
  it('stores an ORM^O01 order (AA) and serves it to the worklist by accession and by study', async () => {
    const obr = Array.from({ length: 31 }, () => null as unknown as string | null | (string | null)[]);
    obr[0] = '1'; obr[1] = 'PL-1'; obr[2] = 'ACC-500'; obr[3] = ['CTHEAD', 'CT head w/o contrast', 'L']; obr[17] = 'ACC-500'; obr[30] = [null, 'Fall | headache ^ confusion'];
    const text = message([
      segment('MSH', ['RIS', 'HOSP', 'READING_STATION', 'RS', '20261125100000', null, ['ORM', 'O01', 'ORM_O01'], 'ORM-500', 'P', '2.5']),
      segment('PID', [1, null, ['PAT-500']]),
      segment('ORC', ['NW', 'PL-1', 'ACC-500', null, null, null, [null, null, null, null, null, 'S'], null, null, null, null, ['77', 'House', 'Greg', null, null, 'Dr']]),
      segment('OBR', obr),
      segment('ZDS', ['1.2.3.500']),
    ]);
    const file = path.join(stack.tmp, 'orm.hl7');
    fs.writeFileSync(file, text);
    const ack = await mllpSend(file);
    expect(ack).toMatchObject({ code: 'AA', controlId: 'ORM-500' });
    const rita = await login(stack.baseUrl, 'rita');
    const byAcc = await rita.json<{ orders: Record<string, unknown>[] }>('/api/orders?accession=ACC-500');
    expect(byAcc.orders[0]).toMatchObject({ accession: 'ACC-500', studyInstanceUID: '1.2.3.500', priority: 'stat', orderingPhysician: 'Dr Greg House (77)', clinicalIndication: 'Fall | headache ^ confusion' });
    const byStudy = await rita.json<{ orders: unknown[] }>('/api/orders?study=1.2.3.500');
    expect(byStudy.orders).toHaveLength(1);
  });

  it('an ADT from the python-hl7 samples is acknowledged AA', async () => {
    const file = path.join(stack.tmp, 'adt.hl7');
    // sample_batch2.hl7 is two ADT^A04 messages without envelope; send the first alone.
    const first = fs.readFileSync(path.join(HL7_DIR, 'sample_batch2.hl7'), 'utf8').split(/\r|\n/).filter(Boolean);
    const second = first.findIndex((l, i) => i > 0 && l.startsWith('MSH'));
    fs.writeFileSync(file, first.slice(0, second).join('\r') + '\r');
    expect((await mllpSend(file)).code).toBe('AA');
  });

  it('every sample_bad_* file gets AE/AR with a reason, is kept for the admin, and the listener carries on', async () => {
    const bad = fs.readdirSync(HL7_DIR).filter((f) => f.startsWith('sample_bad_')).sort();
    expect(bad).toHaveLength(6);
    for (const f of bad) {
      // mllp_send --loose only takes files that start with MSH; these start with FHS/BHS, so they
      // go out through our MLLP client (the peer under test here is the listener, not the client).
      const ack = await sendRaw(fs.readFileSync(path.join(HL7_DIR, f), 'utf8'));
      expect(['AE', 'AR'], f).toContain(ack.code);
      expect(ack.text.length, f).toBeGreaterThan(10);
    }
    const ada = await login(stack.baseUrl, 'ada');
    const rej = await ada.json<{ items: { reason: string; ack_code: string }[] }>('/api/admin/hl7/rejected');
    expect(rej.items.length).toBe(6);
    expect(rej.items.every((r) => r.reason.length > 10)).toBe(true);
    const rita = await login(stack.baseUrl, 'rita');
    expect((await rita.fetch('/api/admin/hl7/rejected')).status).toBe(403);
    // still listening, through python-hl7's client again
    const file = path.join(stack.tmp, 'after.hl7');
    fs.writeFileSync(file, message([segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ADT', 'A08'], 'ADT-9', 'P', '2.5']), segment('PID', [1, null, ['P9']])]));
    expect(await mllpSend(file)).toMatchObject({ code: 'AA', controlId: 'ADT-9' });
  });

  it('an unsupported type is answered AR, an order without accession AE, each with the reason', async () => {
    const f1 = path.join(stack.tmp, 'mdm.hl7');
    fs.writeFileSync(f1, message([segment('MSH', ['LAB', 'H', 'RS', 'RS', '2026', null, ['MDM', 'T02'], 'X-1', 'P', '2.5'])]));
    const ar = await mllpSend(f1);
    expect(ar).toMatchObject({ code: 'AR', controlId: 'X-1' });
    // MSA-3 as on the wire: the ^ in the reason arrives escaped (\S\)
    expect(ar.text).toMatch(/unsupported message type MDM\\S\\T02/);
    const f2 = path.join(stack.tmp, 'noctl.hl7');
    fs.writeFileSync(f2, message([segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ORM', 'O01'], 'C-2', 'P', '2.5']), segment('PID', [1, null, ['PAT-2']]), segment('ORC', ['NW']), segment('OBR', ['1'])]));
    const ae = await mllpSend(f2);
    expect(ae).toMatchObject({ code: 'AE', controlId: 'C-2' });
    expect(ae.text).toMatch(/no accession number/);
    // An order without PID is refused, the ACK naming the missing segment (MSA-3 and ERR-2).
    const f3 = path.join(stack.tmp, 'nopid.hl7');
    fs.writeFileSync(f3, message([segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ORM', 'O01'], 'C-3', 'P', '2.5']), segment('ORC', ['NW', 'PL-3', 'ACC-3']), segment('OBR', ['1', 'PL-3', 'ACC-3'])]));
    const nopid = await mllpSend(f3);
    expect(nopid).toMatchObject({ code: 'AE', controlId: 'C-3', text: 'ORM: required segment PID missing' });
    const err = nopid.raw.split(/\r|\n/).find((l) => l.startsWith('ERR'))!;
    expect(err.split('|')[2]).toBe('PID^1');
    expect(err.split('|')[3]).toMatch(/^100\^/);
    const rita = await login(stack.baseUrl, 'rita');
    expect((await rita.json<{ orders: unknown[] }>('/api/orders?accession=ACC-3')).orders).toEqual([]);
  });

  it('an ORU^R01 report for a study read elsewhere (a prior) is stored (AA), its text line by line; one without text is AE', async () => {
    const obr = Array.from({ length: 25 }, () => null as unknown as string | null);
    obr[0] = '1'; obr[2] = 'ACC-PRIOR-1'; obr[6] = '20260501093000'; obr[24] = 'F';
    const text = message([
      segment('MSH', ['RIS', 'HOSP', 'READING_STATION', 'RS', '20261125100000', null, ['ORU', 'R01', 'ORU_R01'], 'ORU-PRIOR-1', 'P', '2.5']),
      segment('PID', [1, null, ['PAT-500']]),
      segment('OBR', obr),
      segment('OBX', ['1', 'TX', ['18782-3', 'Radiology Study observation', 'LN'], '1', 'FINDINGS: 6 mm right frontal haemorrhage | no shift.', null, null, null, null, null, 'F']),
      segment('OBX', ['2', 'TX', ['19005-8', 'Impression', 'LN'], '1', 'Small acute haemorrhage.', null, null, null, null, null, 'F']),
    ]);
    const file = path.join(stack.tmp, 'oru-prior.hl7');
    fs.writeFileSync(file, text);
    expect(await mllpSend(file)).toMatchObject({ code: 'AA', controlId: 'ORU-PRIOR-1' });
    const rows = await stack.gateway.store.db.selectFrom('inbound_reports').selectAll().where('accession', '=', 'ACC-PRIOR-1').execute();
    expect(rows.map((r) => [r.patient_id, r.status, r.text])).toEqual([['PAT-500', 'F', 'FINDINGS: 6 mm right frontal haemorrhage | no shift.\nSmall acute haemorrhage.']]);
    const empty = path.join(stack.tmp, 'oru-empty.hl7');
    fs.writeFileSync(empty, message([segment('MSH', ['RIS', 'H', 'RS', 'RS', '2026', null, ['ORU', 'R01'], 'ORU-E', 'P', '2.5']), segment('PID', [1, null, ['P1']]), segment('OBR', ['1', null, 'ACC-E'])]));
    const ae = await mllpSend(empty);
    expect(ae).toMatchObject({ code: 'AE', controlId: 'ORU-E' });
    expect(ae.text).toMatch(/without report text/);
  });

});

async function sendRaw(text: string): Promise<{ code: string; text: string }> {
  const { sendMllp } = await import('./client.js');
  const ack = await sendMllp({ host: '127.0.0.1', port, timeoutMs: 10_000 }, text);
  const msa = ack.split('\r').find((l) => l.startsWith('MSA'))!;
  const [, code, , t] = msa.split('|');
  return { code, text: t ?? '' };
}
