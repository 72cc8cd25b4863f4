/**
 * Two gateways on one PostgreSQL database (issue 14 item 3), nothing mocked: a real Orthanc, the demo RIS
 * (python-hl7 MLLP server), two buildGateway() instances with their own pools and outbox workers.
 * 1,000 audit appends and 150 sign-offs (a verified SR and an ORU each) are issued against both at once:
 * the audit chain verifies (the `npm run audit:verify` logic), and every SR and ORU is delivered exactly
 * once: each outbox row claimed by one gateway only, tried once, the RIS acknowledged each control id
 * once, Orthanc holds one instance per SR series. Runs in the PostgreSQL pass (TEST_DB=postgres).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, TEST_DIALECT, type Stack } from '../../test/harness.js';
import { buildGateway, type Gateway } from '../app.js';
import { freePort } from '../../scripts/lib/orthanc.js';
import { CHEST_CR, HEAD_CT_DIR, mrSeriesFiles } from '../../scripts/lib/demo-data.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { reviewedFindings, sampleFindings } from '../../src/core/sr/testing.js';
import { appendAudit } from '../audit/audit.js';
import { auditVerify } from '../../scripts/audit-verify.js';
import { onStudySignedOff } from './events.js';
import { startRis, waitFor, type Ris } from './testkit.js';

const FILES = [path.join(HEAD_CT_DIR, '05.dcm'), CHEST_CR, mrSeriesFiles()[0]];
const SOURCES = FILES.map((f) => parseDicomPart10(fs.readFileSync(f)));
const REVIEWED = SOURCES.map((s) => reviewedFindings(sampleFindings(s)));
const RITA = { id: 1, username: 'rita', displayName: 'Reader^Rita^^Dr.', role: 'radiologist' as const };
const SIGN_OFFS = 150;
const AUDITS = 1000;

let stack: Stack;
let second: Gateway;
let ris: Ris;
let prevPreread: string | undefined;

describe.runIf(TEST_DIALECT === 'postgres')('two gateways on one PostgreSQL', () => {
  beforeAll(async () => {
    prevPreread = process.env.PREREAD;
    process.env.PREREAD = '0';
    const risPort = await freePort();
    const outbox = { risHost: '127.0.0.1', risPort, baseDelayMs: 100, maxDelayMs: 1000, pollMs: 50, ackTimeoutMs: 5000, concurrency: 4 };
    stack = await startStack({ files: FILES, config: { outbox } });
    // The second gateway: same database, same audit key, its own pool, worker and event bus.
    second = await buildGateway({ ...stack.gateway.config });
    ris = await startRis(risPort, path.join(stack.tmp, 'ris.log'));
  });
  afterAll(async () => {
    await ris?.stop();
    await second?.close().catch(() => {});
    await stack?.stop();
    if (prevPreread === undefined) delete process.env.PREREAD;
    else process.env.PREREAD = prevPreread;
  });

  it(`${AUDITS} audit appends and ${SIGN_OFFS} sign-offs at once: one unforked chain, every SR and ORU delivered exactly once`, async () => {
    const gws = [stack.gateway, second];
    expect(gws.map((g) => g.store.dialect)).toEqual(['postgres', 'postgres']);
    const before = await stack.gateway.store.db.selectFrom('audit').select('seq').execute();

    const audits = Array.from({ length: AUDITS }, (_, i) => appendAudit(gws[i % 2].store.db, { actor: `load-${i % 2}`, action: 'load-test', detail: { i } }));
    const signOffs = (async () => {
      // Eight at a time, alternating gateways, while the audit appends run.
      let next = 0;
      const lane = async () => {
        while (next < SIGN_OFFS) {
          const i = next++;
          const gw = gws[i % 2];
          const k = i % SOURCES.length;
          const signedAt = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
          await gw.store.db.transaction().execute((trx) => onStudySignedOff(trx, { studyInstanceUID: String(SOURCES[k].StudyInstanceUID), findings: REVIEWED[k], user: RITA, signedAt }));
          gw.outbox.kick();
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
    })();
    await Promise.all([...audits, signOffs]);

    const rows = await waitFor(
      'every message acknowledged',
      async () => {
        const r = await stack.gateway.store.db.selectFrom('outbox').selectAll().execute();
        return r.length === 2 * SIGN_OFFS && r.every((x) => x.status === 'acknowledged') ? r : undefined;
      },
      240_000,
      500,
    );

    // Claimed in the database: each message was tried once, by one gateway, and both gateways worked.
    expect(rows.filter((r) => r.attempts !== 1).map((r) => [r.id, r.attempts])).toEqual([]);
    const claims = gws.map((g) => g.outbox.stats.claimed);
    expect(claims[0] + claims[1]).toBe(2 * SIGN_OFFS);
    expect(Math.min(...claims)).toBeGreaterThan(0);

    // ORU: the RIS acknowledged every control id exactly once, on the first delivery.
    const acks = ris.events().filter((e) => e.event === 'ack');
    const perId = new Map<string, number>();
    for (const a of acks) perId.set(a.control_id!, (perId.get(a.control_id!) ?? 0) + 1);
    const oruIds = rows.filter((r) => r.kind === 'hl7-oru').map((r) => r.message_id);
    expect(oruIds).toHaveLength(SIGN_OFFS);
    expect(oruIds.filter((id) => perId.get(id) !== 1)).toEqual([]);
    expect(acks).toHaveLength(SIGN_OFFS);

    // SR: one instance per SR series in Orthanc, none missing.
    const srs = rows.filter((r) => r.kind === 'sr-stow').map((r) => JSON.parse(r.payload) as { studyInstanceUID: string; seriesInstanceUID: string });
    expect(srs).toHaveLength(SIGN_OFFS);
    const perSeries = new Map<string, number>();
    for (const study of new Set(srs.map((s) => s.studyInstanceUID))) {
      const r = await stack.orthanc.rest(`/dicom-web/studies/${study}/instances?Modality=SR&includefield=0020000E`, { headers: { accept: 'application/dicom+json' } });
      const list = r.status === 204 ? [] : ((await r.json()) as Record<string, { Value: string[] }>[]);
      for (const inst of list) perSeries.set(inst['0020000E'].Value[0], (perSeries.get(inst['0020000E'].Value[0]) ?? 0) + 1);
    }
    expect(srs.filter((s) => perSeries.get(s.seriesInstanceUID) !== 1)).toEqual([]);

    // The audit: every append is in, once, and the chain verifies (links, hashes, MACs, checkpoint).
    const audit = await stack.gateway.store.db.selectFrom('audit').select(['seq', 'action', 'detail', 'prev_hash']).orderBy('seq').execute();
    const load = audit.filter((r) => r.action === 'load-test');
    expect(load).toHaveLength(AUDITS);
    expect(new Set(load.map((r) => (JSON.parse(r.detail!) as { i: number }).i)).size).toBe(AUDITS);
    // A fork would show as two records naming the same predecessor.
    expect(new Set(audit.map((r) => r.prev_hash)).size).toBe(audit.length);
    expect(audit.length).toBeGreaterThan(before.length + AUDITS);
    const sent = audit.filter((r) => r.action === 'hl7-sent').map((r) => (JSON.parse(r.detail!) as { outboxId: number }).outboxId);
    expect(new Set(sent).size).toBe(sent.length);
    const verify = await auditVerify(stack.gateway.config.database, { keyFile: stack.gateway.config.auditKeyFile });
    expect(verify.message).toMatch(/^audit chain intact/);
    expect(verify.code).toBe(0);
  });
});

describe.runIf(TEST_DIALECT === 'postgres')('two gateways: a delivery longer than the lease', () => {
  let st: Stack;
  let other: Gateway;
  let peer: Ris;
  let prev: string | undefined;
  beforeAll(async () => {
    prev = process.env.PREREAD;
    process.env.PREREAD = '0';
    const risPort = await freePort();
    // The lease (1.5 s) is shorter than the wait for an ACK (4 s): only the holder's renewals keep the other gateway off it.
    const outbox = { risHost: '127.0.0.1', risPort, leaseMs: 1500, ackTimeoutMs: 4000, baseDelayMs: 100, maxDelayMs: 200, pollMs: 50, concurrency: 2 };
    st = await startStack({ files: [FILES[1]], config: { outbox } });
    other = await buildGateway({ ...st.gateway.config });
    // The RIS answers nothing to the first delivery of each control id, then AA.
    peer = await startRis(risPort, path.join(st.tmp, 'ris.log'), ['--drop-first', '1']);
  });
  afterAll(async () => {
    await peer?.stop();
    await other?.close().catch(() => {});
    await st?.stop();
    if (prev === undefined) delete process.env.PREREAD;
    else process.env.PREREAD = prev;
  });

  it('the holder renews its claim while it waits for the ACK: the other gateway never sends the message meanwhile', async () => {
    await st.gateway.store.db.transaction().execute((trx) => onStudySignedOff(trx, { studyInstanceUID: String(SOURCES[1].StudyInstanceUID), findings: REVIEWED[1], user: RITA, signedAt: '2026-02-01T00:00:00.000Z' }));
    st.gateway.outbox.kick();
    other.outbox.kick();
    const oru = await waitFor(
      'the ORU acknowledged',
      async () => (await st.gateway.store.db.selectFrom('outbox').selectAll().where('kind', '=', 'hl7-oru').executeTakeFirst())?.status === 'acknowledged' && (await st.gateway.store.db.selectFrom('outbox').selectAll().where('kind', '=', 'hl7-oru').executeTakeFirstOrThrow()),
      60_000,
      100,
    );
    const events = peer.events().filter((e) => e.control_id === oru.message_id);
    // Delivery 1 went unanswered; delivery 2 came only after the holder gave up waiting (4 s), not when
    // the 1.5 s lease would have run out without renewal; two deliveries in all, one ACK.
    expect(events.map((e) => `${e.event}#${e.delivery}`)).toEqual(['dropped#1', 'ack#2']);
    const [dropped, acked] = events as unknown as { t: number }[];
    expect(acked.t - dropped.t).toBeGreaterThan(3.5);
    expect(oru.attempts).toBe(2);
  });
});
