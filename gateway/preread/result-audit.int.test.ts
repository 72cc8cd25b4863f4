/**
 * A pre-read result and its audit records commit together (withAudit): the job's findings, its "done"
 * state, the study's triage, the AI SR and preliminary ORU queued for the hospital, and the records of
 * all of it. With the audit refusing the result's `preread-inference-finished` record, none of it is
 * kept: the attempt fails visibly and is retried, and the result is stored once when the audit is back.
 * Real Orthanc, real DCMTK storescu, the real head CT model in worker threads; SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, waitFor as sharedWaitFor, type Stack, type Client } from '../../test/harness.js';
import { whileAuditRefused } from '../../test/audit-refused.js';
import { buildHeadCtStudy, cStore } from './study-builder.js';
import { verifyChain, type AuditRecord } from '../audit/audit.js';
import type { StudyPreread } from './service.js';

const waitFor = <T,>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000) => sharedWaitFor(what, fn, timeoutMs, 150);

let stack: Stack;
let rita: Client;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  // Attempts enough that the refused window never exhausts them; a short back-off so the retry comes soon.
  for (const [k, v] of Object.entries({ PREREAD_POLL_MS: '200', PREREAD_BACKOFF_MS: '300', PREREAD_MAX_ATTEMPTS: '50' })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  stack = await startStack();
  rita = await login(stack.baseUrl, 'rita');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('pre-read result and its audit records', () => {
  it('a result whose records cannot be written is not kept (job, SR and ORU queued); retried, stored once when the audit is back', async () => {
    const db = stack.gateway.store.db;
    const study = await buildHeadCtStudy({ patientAge: '045Y', lesions: true });
    const uid = study.studyInstanceUID;
    const records = (action: string) => db.selectFrom('audit').selectAll().where('action', '=', action).where('study_uid', '=', uid).orderBy('seq').execute() as Promise<AuditRecord[]>;
    try {
      await whileAuditRefused(
        db,
        async () => {
          await cStore(study.files, { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
          // The model ran and the result's commit was refused: that attempt failed, on record.
          const failed = await waitFor('a refused result commit', async () => (await records('preread-inference-failed'))[0]);
          expect(JSON.parse(failed.detail!)).toMatchObject({ model: 'head-ct-hyperdensity', final: false });
          expect(JSON.parse(failed.detail!).error).toMatch(/audit unavailable/);
          // Nothing of the result was kept: no job done, nothing queued for the PACS or the RIS.
          expect((await db.selectFrom('preread_jobs').select('state').where('study_uid', '=', uid).execute()).map((j) => j.state)).not.toContain('done');
          expect(await db.selectFrom('outbox').select('kind').where('study_uid', '=', uid).execute()).toEqual([]);
          expect(await records('preread-inference-finished')).toEqual([]);
        },
        { actions: ['preread-inference-finished'] },
      );
      // The audit is back: a retry stores the result, once.
      const s = await waitFor('job done', async () => {
        const r = await rita.fetch(`/api/studies/${uid}/preread`);
        const st = r.ok ? ((await r.json()) as StudyPreread) : null;
        return st && st.aiState === 'done' ? st : null;
      });
      expect(s.jobs).toHaveLength(1);
      expect(s.jobs[0].state).toBe('done');
      expect(s.jobs[0].attempts).toBeGreaterThanOrEqual(1);
      expect(s.priority).toBe('critical');
      expect(await records('preread-inference-finished')).toHaveLength(1);
      const queued = (await db.selectFrom('outbox').select('kind').where('study_uid', '=', uid).execute()).map((r) => r.kind).sort();
      expect(queued).toEqual(['hl7-oru', 'sr-stow']);
      expect(verifyChain((await db.selectFrom('audit').selectAll().orderBy('seq').execute()) as AuditRecord[]).ok).toBe(true);
    } finally {
      study.remove();
    }
  });
});
