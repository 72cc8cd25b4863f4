/** Report API (issue 16): the draft (read, save), the signed report with its addenda, and adding an addendum. */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { requireUser } from '../auth/plugin.js';
import { parseDraft } from '../../src/core/report/draft.js';
import { addenda, getReport, saveDraft } from './repository.js';
import { studiesInProgress } from './opened.js';
import { addAddendum } from '../findings/service.js';
import { withAudit } from '../audit/audit.js';
import { dicomWebPath, orthancFetch } from '../orthanc/client.js';
import { findingsForStudy } from '../findings/repository.js';
import { filterForReader } from '../trust/service.js';
import { reportPlainText } from '../../src/core/report/draft.js';
import { boxSizeMm, intervalChanges, intervalSentence } from '../../src/core/report/interval.js';
import { bodyPartsByStudy } from '../../src/core/study/facts.js';
import type { DicomJson } from '../../src/core/imaging/dicomJson.js';

const UID = /^[0-9]+(\.[0-9]+)*$/;

type QidoStudy = Record<string, { Value?: unknown[] }>;
const PRIOR_FIELDS = ['00100020', '00100021', '00080020', '00080061', '00180015', '00081030', '00080050'];
/** Series-level fields for THE study body part (src/core/study/facts.ts bodyPartsByStudy). */
const SERIES_FIELDS = ['0020000D', '00080060', '00180015', '00201209'];
const val = (s: QidoStudy | undefined, tag: string) => (s?.[tag]?.Value ?? []).map(String);
const first = (s: QidoStudy | undefined, tag: string) => val(s, tag)[0] ?? '';
const isoDate = (da: string) => (/^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : '');

export interface PriorStudy {
  studyUID: string;
  date: string;
  modalities: string[];
  bodyPart: string;
  description: string;
  accession: string;
  /** Same modality (SR aside) and the same body part, or description where no body part is known. */
  relevant: boolean;
}

/** A prior is relevant when it shares an imaging modality and its body part (or, lacking one, its description). */
export function isRelevantPrior(cur: Pick<PriorStudy, 'modalities' | 'bodyPart' | 'description'>, p: Pick<PriorStudy, 'modalities' | 'bodyPart' | 'description'>): boolean {
  const img = (m: string[]) => m.filter((x) => x !== 'SR' && x !== 'KO' && x !== 'PR');
  if (!img(p.modalities).some((m) => img(cur.modalities).includes(m))) return false;
  if (cur.bodyPart && p.bodyPart) return cur.bodyPart.toUpperCase() === p.bodyPart.toUpperCase();
  if (cur.description && p.description) return cur.description.toUpperCase() === p.description.toUpperCase();
  return true;
}

export async function registerReportRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { db, events } = ctx;

  app.get<{ Params: { study: string } }>('/api/studies/:study/report', { config: { permission: 'report.read' } }, async (req, reply) => {
    const study = req.params.study;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const r = await getReport(db, study);
    return { report: r, addenda: await addenda(db, study) };
  });

  /**
   * Studies being read: opened by a reader (recorded by the server when the viewer fetched the findings) or
   * with a saved draft, and not signed off. "In progress" on every user's worklist, so worklist.read.
   */
  app.get('/api/reports/in-progress', { config: { permission: 'worklist.read' } }, async () => ({ studies: await studiesInProgress(db) }));

  app.put<{ Params: { study: string } }>('/api/studies/:study/report', { config: { permission: 'report.write' } }, async (req, reply) => {
    const s = requireUser(req);
    const study = req.params.study;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const parsed = parseDraft((req.body as { draft?: unknown } | null)?.draft);
    if (!parsed.ok) return reply.code(422).send({ error: 'invalid report draft', details: parsed.errors });
    // The draft and its audit record: one transaction.
    const out = await withAudit(db, async (trx) => {
      const o = await saveDraft(trx, study, parsed.value, s.user.username, new Date().toISOString());
      return { value: o, audit: o.ok ? { actor: s.user.username, role: s.user.role, action: 'report-draft-saved', studyUID: study, detail: { lines: parsed.value.findings.length } } : null };
    });
    if (!out.ok) return reply.code(out.status).send({ error: out.error });
    return { report: out.report };
  });

  /**
   * Earlier studies of the same patient (Patient ID and, where given, its issuer), found by QIDO; the most
   * recent relevant one compared: its signed report and the interval change of the findings (the reader policy
   * applies to both studies' findings).
   */
  app.get<{ Params: { study: string } }>('/api/studies/:study/priors', { config: { permission: 'report.read' } }, async (req, reply) => {
    const user = requireUser(req).user;
    const study = req.params.study;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    try {
      const { priorFindings: _p, ...out } = await comparePriors(ctx, user.role, study);
      return out;
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 404 || status === 503) return reply.code(status).send({ error: (e as Error).message });
      throw e;
    }
  });

  app.post<{ Params: { study: string } }>('/api/studies/:study/addendum', { config: { permission: 'report.addendum' } }, async (req, reply) => {
    const s = requireUser(req);
    const study = req.params.study;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const body = req.body as { text?: unknown } | null;
    if (!body || typeof body.text !== 'string' || Object.keys(body).some((k) => k !== 'text')) return reply.code(422).send({ error: 'invalid addendum', details: ['body: only { "text": string } is accepted'] });
    const out = await addAddendum({ db, events, fhirUrl: ctx.config.fhirUrl }, { studyUID: study, user: s.user, text: body.text });
    if (!out.ok) return reply.code(out.status).send({ error: out.error });
    return reply.code(201).send({ id: out.id, addedAt: out.addedAt });
  });
}

/**
 * The priors of a study and the comparison with the most recent relevant one (see the route below). Throws
 * { status: 404 } for an unknown study and { status: 503 } when the PACS cannot be reached.
 */
export async function comparePriors(ctx: GatewayContext, role: string, study: string) {
  const { db } = ctx;
  const q = (query: string) =>
    orthancFetch(ctx.orthanc, dicomWebPath(ctx.orthanc, `/studies?${query}&${PRIOR_FIELDS.map((f) => `includefield=${f}`).join('&')}`), { headers: { accept: 'application/dicom+json' } }).then(async (r) => {
      if (r.status === 204) return [] as QidoStudy[];
      if (!r.ok) throw Object.assign(new Error(`PACS QIDO ${r.status}`), { status: r.status });
      return (await r.json()) as QidoStudy[];
    });
  let cur: QidoStudy | undefined;
  let all: QidoStudy[];
  let bodyParts = new Map<string, string>();
  try {
    [cur] = await q(`StudyInstanceUID=${study}`);
    if (!cur) throw Object.assign(new Error(`no study ${study}`), { status: 404 });
    const pid = first(cur, '00100020');
    if (!pid) return { patientId: '', priors: [], comparison: null };
    all = await q(`PatientID=${encodeURIComponent(pid)}`);
    // Body parts from the image series of the patient's studies (THE study body part): the study-level
    // attribute drops out once an AI SR is in a study, and relevance would then fall back to the description.
    bodyParts = await orthancFetch(ctx.orthanc, dicomWebPath(ctx.orthanc, `/series?PatientID=${encodeURIComponent(pid)}&${SERIES_FIELDS.map((f) => `includefield=${f}`).join('&')}`), { headers: { accept: 'application/dicom+json' } })
      .then(async (r) => (r.ok && r.status !== 204 ? bodyPartsByStudy((await r.json()) as DicomJson[]) : new Map<string, string>()))
      .catch(() => new Map<string, string>());
  } catch (e) {
    if ((e as { status?: number }).status === 404) throw e;
    throw Object.assign(new Error('the PACS cannot be reached for the priors; try again'), { status: 503 });
  }
  const issuer = first(cur, '00100021');
  const toPrior = (s: QidoStudy): PriorStudy => ({
    studyUID: first(s, '0020000D'),
    date: isoDate(first(s, '00080020')),
    modalities: val(s, '00080061'),
    bodyPart: bodyParts.get(first(s, '0020000D')) ?? first(s, '00180015'),
    description: first(s, '00081030'),
    accession: first(s, '00080050'),
    relevant: false,
  });
  const me = toPrior(cur);
  const priors = all
    .filter((s) => first(s, '0020000D') !== study && first(s, '00100021') === issuer)
    .map(toPrior)
    .filter((p) => !me.date || !p.date || p.date <= me.date)
    .map((p) => ({ ...p, relevant: isRelevantPrior(me, p) }))
    .sort((a, b) => b.date.localeCompare(a.date));
  const best = priors.find((p) => p.relevant);
  if (!best) return { patientId: first(cur, '00100020'), priors, comparison: null };
  const stored = await getReport(db, best.studyUID);
  const priorAddenda = await addenda(db, best.studyUID);
  const [curF, priorF] = await Promise.all([
    findingsForStudy(db, study).then((f) => filterForReader(ctx, role, study, f)),
    findingsForStudy(db, best.studyUID).then((f) => filterForReader(ctx, role, best.studyUID, f)),
  ]);
  // Pixel spacing per series (from one instance's metadata), for the size of AI findings that carry no length;
  // the series are read from the PACS at once, not one after another.
  const firstImage = new Map<string, { study: string; sop: string }>();
  for (const f of [...curF, ...priorF]) {
    const r = f.regions.find((x) => x.box);
    if (r && !firstImage.has(r.image.seriesInstanceUID)) firstImage.set(r.image.seriesInstanceUID, { study: f.studyInstanceUID, sop: r.image.sopInstanceUID });
  }
  const spacingOf = async (series: string, img: { study: string; sop: string }): Promise<[number, number] | undefined> => {
    try {
      const m = await orthancFetch(ctx.orthanc, dicomWebPath(ctx.orthanc, `/studies/${img.study}/series/${series}/instances/${img.sop}/metadata`), { headers: { accept: 'application/dicom+json' } });
      const md = m.ok ? ((await m.json()) as QidoStudy[])[0] : undefined;
      const v = (md?.['00280030']?.Value ?? []).map(Number);
      return v.length === 2 && v.every((x) => x > 0) ? [v[0], v[1]] : undefined;
    } catch {
      return undefined;
    }
  };
  const spacing = new Map(await Promise.all([...firstImage].map(async ([series, img]) => [series, await spacingOf(series, img)] as const)));
  const changes = intervalChanges(curF, priorF, { sizeOf: (f) => boxSizeMm(f, (s) => spacing.get(s)) }).map((c) => ({ ...c, sentence: intervalSentence(c, best.date) }));
  // The prior's report: the one signed here, else the latest a RIS sent (ORU^R01 on the MLLP listener) for its study or accession.
  let report: string | null = stored?.signedAt ? reportPlainText(stored.draft, priorAddenda.length ? { addendum: priorAddenda.map((a) => `${a.addedAt} ${a.addedBy}: ${a.text}`).join('\n') } : {}) : null;
  let reportSource: 'signed' | 'ris' | null = report ? 'signed' : null;
  if (!report) {
    let rq = db.selectFrom('inbound_reports').select(['text', 'status']).where('patient_id', '=', first(cur, '00100020'));
    rq = best.accession ? rq.where((eb) => eb.or([eb('study_uid', '=', best.studyUID), eb('accession', '=', best.accession)])) : rq.where('study_uid', '=', best.studyUID);
    const ris = await rq.orderBy('id', 'desc').limit(1).executeTakeFirst();
    if (ris) {
      report = ris.text;
      reportSource = 'ris';
    }
  }
  return {
    patientId: first(cur, '00100020'),
    priors,
    comparison: { ...best, report, reportSource, signedAt: stored?.signedAt ?? null, changes },
    /** The prior's findings as compared (for carrying Tracking UIDs across studies). */
    priorFindings: priorF,
  };
}
