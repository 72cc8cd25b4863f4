/**
 * Lifting an AI control reads what the control held back, and a modality switch hides what a study
 * switch hides. Real Orthanc, DCMTK storescu and the real pre-read (head CT model in worker threads):
 *  - a study whose AI was disabled when it arrived is read when AI is enabled again (it no longer stays
 *    'skipped'); the same for a study that arrived while its modality was switched off;
 *  - switching the modality off hides the job's findings count from every role, as the study switch does;
 *  - output that arrives after sign-off is announced (domain event 'findings-changed', cause
 *    'after-signoff') and each role's triage entry counts the results it may see, live and on reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, waitFor as sharedWaitFor, type Stack, type Client } from '../../test/harness.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from './study-builder.js';

const waitFor = <T,>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000) => sharedWaitFor(what, fn, timeoutMs, 150);

type Preread = { aiState: string; priority: string | null; reason: string | null; jobs: { model: string; state: string; findingsCount: number | null }[]; routing: { model: string; decision: string; reason: string }[] };

let stack: Stack;
const c: Record<string, Client> = {};
const READERS = ['rita', 'remy', 'erin', 'toby', 'ada'] as const;
const built: BuiltStudy[] = [];
const peer = () => ({ port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
const put = (client: Client, p: string, body: unknown) => client.fetch(p, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const prereadOf = async (uid: string, user = 'rita'): Promise<Preread | null> => {
  const r = await c[user].fetch(`/api/studies/${uid}/preread`);
  return r.ok ? ((await r.json()) as Preread) : null;
};
const audited = async (uid: string, action: string) => (await stack.gateway.store.db.selectFrom('audit').select('detail').where('study_uid', '=', uid).where('action', '=', action).execute()).map((a) => JSON.parse(a.detail ?? '{}'));

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  process.env.PREREAD_TIMEOUT_MS = '120000';
  stack = await startStack();
  for (const u of READERS) c[u] = await login(stack.baseUrl, u);
});

afterAll(async () => {
  await stack?.stop();
  for (const s of built) s.remove();
});

describe('lifting an AI control reads the study it held back', () => {
  it('AI disabled for a study when it arrived: no job; enabling AI starts its pre-read', async () => {
    const study = await buildHeadCtStudy({ patientAge: '052Y', lesions: true });
    built.push(study);
    const uid = study.studyInstanceUID;
    expect((await c.rita.post(`/api/studies/${uid}/ai-disabled`, { reason: 'patient-declined' })).status).toBe(201);
    await cStore(study.files, peer());
    const held = await waitFor('arrived, AI disabled', async () => {
      const p = await prereadOf(uid);
      return p?.aiState === 'disabled' ? p : null;
    });
    expect(held.jobs).toEqual([]);
    expect(held.routing.every((r) => r.decision === 'skip' && /AI disabled for this study by rita/.test(r.reason))).toBe(true);
    // It stays held back while disabled (several feed polls later, still no job).
    await new Promise((r) => setTimeout(r, 1000));
    expect((await prereadOf(uid))!.jobs).toEqual([]);

    expect((await c.rita.fetch(`/api/studies/${uid}/ai-disabled`, { method: 'DELETE' })).status).toBe(200);
    const read = await waitFor('read after enabling', async () => {
      const p = await prereadOf(uid);
      return p?.aiState === 'done' ? p : null;
    });
    expect(read.jobs.map((j) => j.state)).toEqual(['done']);
    expect(read.jobs[0].findingsCount).toBeGreaterThan(0);
    expect(read.priority).toBe('critical');
    expect((await audited(uid, 'preread-study-readmitted')).map((d) => d.queued)).toEqual([['head-ct-hyperdensity']]);
  });

  it('modality switched off when the study arrived: switching it back on starts the pre-read', async () => {
    expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: ['CT'] })).status).toBe(200);
    try {
      const study = await buildHeadCtStudy({ patientAge: '061Y', slices: 3 });
      built.push(study);
      const uid = study.studyInstanceUID;
      await cStore(study.files, peer());
      const held = await waitFor('arrived, modality off', async () => {
        const p = await prereadOf(uid);
        return p?.aiState === 'disabled' ? p : null;
      });
      expect(held.jobs).toEqual([]);
      expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: [] })).status).toBe(200);
      const read = await waitFor('read after the modality is back', async () => {
        const p = await prereadOf(uid);
        return p?.jobs.length && p.jobs.every((j) => j.state === 'done') ? p : null;
      });
      expect(read.aiState).toBe('done');
    } finally {
      await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: [] });
    }
  });
});

describe('AI switched off for a modality hides what the study switch hides', () => {
  it("the job's findings count is null for every role while CT is off, and back when it is on", async () => {
    const study = await buildHeadCtStudy({ patientAge: '047Y', lesions: true });
    built.push(study);
    const uid = study.studyInstanceUID;
    await cStore(study.files, peer());
    const read = await waitFor('read', async () => {
      const p = await prereadOf(uid);
      return p?.aiState === 'done' ? p : null;
    });
    // The job of the study's current image set (the last one): under load Orthanc may call a study
    // stable before its last instance, and the first, partial image set then has its own older job.
    const last = (p: { jobs: { findingsCount: number | null }[] }) => p.jobs[p.jobs.length - 1].findingsCount;
    const count = last(read);
    expect(count).toBeGreaterThan(0);
    try {
      expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: ['CT'] })).status).toBe(200);
      for (const u of READERS) expect((await prereadOf(uid, u))!.jobs.every((j) => j.findingsCount === null), u).toBe(true);
      // Another modality switched off leaves this CT's count visible.
      expect((await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: ['MR'] })).status).toBe(200);
      expect(last((await prereadOf(uid))!)).toBe(count);
    } finally {
      await put(c.ada, '/api/admin/ai-disabled-modalities', { modalities: [] });
    }
    expect(last((await prereadOf(uid))!)).toBe(count);
  });
});

describe('output after sign-off reaches the worklist', () => {
  it("emits findings-changed (after-signoff); each role's entry counts what it may see; the signed triage is unchanged", async () => {
    const study = await buildHeadCtStudy({ patientAge: '058Y', lesions: true });
    built.push(study);
    const uid = study.studyInstanceUID;
    await cStore(study.files, peer());
    await waitFor('read', async () => (await prereadOf(uid))?.aiState === 'done');
    const so = await c.rita.post(`/api/studies/${uid}/signoff`, { confirmUnverified: true });
    expect(so.status, await so.clone().text()).toBe(201);
    type Entry = { status: string; priority: string | null; afterSignoff: number | null };
    const entryOf = async (u: string) => (await c[u].json<{ studies: Record<string, Entry> }>('/api/triage')).studies[uid];
    await waitFor('final', async () => (await entryOf('rita')).status === 'final');
    expect((await entryOf('rita')).afterSignoff).toBe(0);
    // The sign-off's own triage change is audited after the entry reads final (after commit): count from there.
    await waitFor('sign-off triage audited', async () => (await audited(uid, 'triage-changed')).some((d) => d.cause === 'signed-off'));
    const triageChanges = (await audited(uid, 'triage-changed')).length;

    const domain: { cause: string; actor: string }[] = [];
    const off = stack.gateway.ctx.events.on('findings-changed', (e) => void (e.studyUID === uid && domain.push({ cause: e.cause, actor: e.actor })));
    const ac = new AbortController();
    const live: Entry[] = [];
    void (async () => {
      const r = await fetch(stack.baseUrl + '/api/events', { headers: { cookie: c.rita.cookie }, signal: ac.signal });
      const reader = r.body!.getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += new TextDecoder().decode(value);
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (/^event: triage$/m.test(block) && data) {
            const d = JSON.parse(data) as Entry & { studyUID: string };
            if (d.studyUID === uid) live.push(d);
          }
        }
      }
    })().catch(() => {});
    try {
      await new Promise((r) => setTimeout(r, 300)); // stream connected
      const imp = await c.ada.post('/api/findings', {
        id: `late-${uid}`,
        studyInstanceUID: uid,
        type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
        label: 'Intracranial hemorrhage',
        confidence: 0.97,
        severity: 'critical',
        regions: [{ image: { seriesInstanceUID: `${uid}.1`, sopInstanceUID: `${uid}.1.1` }, box: { x: 100, y: 100, width: 20, height: 20 } }],
        model: { name: 'ich-import-demo', version: '1.0.0' },
      });
      expect(imp.status, await imp.clone().text()).toBe(201);
      await waitFor('domain event', async () => domain.some((d) => d.cause === 'after-signoff'));
      expect(domain).toEqual([{ cause: 'after-signoff', actor: 'ada' }]);
      await waitFor('live entry counts it', async () => live.some((e) => e.afterSignoff === 1));
      expect(live.every((e) => e.status === 'final')).toBe(true);
    } finally {
      off();
      ac.abort();
    }
    // On reload too; a role without diagnostic findings is told nothing about them.
    expect(await entryOf('rita')).toMatchObject({ status: 'final', afterSignoff: 1 });
    expect((await entryOf('toby')).afterSignoff).toBeNull();
    // The signed record's triage did not change.
    expect((await audited(uid, 'triage-changed')).length).toBe(triageChanges);
  });
});
