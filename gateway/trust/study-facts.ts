/**
 * The gateway's side of THE study facts (src/core/study/facts.ts): each image series' WADO-RS
 * metadata from Orthanc's DICOMweb plugin (the DICOM JSON the browser gets through our proxy), plus
 * the HL7 order's clinical indication. The pre-read's routing, the AI results guard and ai-status all
 * read facts from here, so they apply the core eligibility to the same facts as the browser does.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { dicomWebPath, OrthancError, orthancJson, orthancPostJson, type OrthancClient } from '../orthanc/client.js';
import { isIgnoredSeries } from '../../src/core/triage/arrival.js';
import { studyFacts, summariseStudy, type OrderFacts } from '../../src/core/study/facts.js';
import type { DicomJson } from '../../src/core/imaging/dicomJson.js';
import type { StudyFacts } from '../../src/core/policy/study.js';
import type { RoutableSeries } from '../preread/models.js';

/** Facts are asked for on request paths (ai-status, the results guard): a shorter limit than the client's default. */
const FACTS_TIMEOUT_MS = 15_000;

/** The clinical indication of the HL7 order for a study (by Study UID, else accession), when one was received. */
export async function orderFacts(db: Kysely<DB>, studyUID: string, accession: string | null | undefined): Promise<OrderFacts> {
  const byStudy = await db.selectFrom('hl7_orders').select('clinical_indication').where('study_uid', '=', studyUID).orderBy('received_at', 'desc').executeTakeFirst();
  if (byStudy) return { clinicalIndication: byStudy.clinical_indication };
  if (!accession) return { clinicalIndication: null };
  const byAcc = await db.selectFrom('hl7_orders').select('clinical_indication').where('accession', '=', accession).executeTakeFirst();
  return { clinicalIndication: byAcc?.clinical_indication ?? null };
}

/** Image series of a study in Orthanc (our own output and non-image objects left out), and the modalities of the rest. */
export async function findImageSeries(o: OrthancClient, studyUID: string): Promise<{ series: { orthancId: string; seriesInstanceUID: string; instanceCount: number }[]; otherModalities: string[] }> {
  const found = await orthancPostJson<{ ID: string; Instances?: string[]; MainDicomTags?: Record<string, string | undefined> }[]>(o, '/tools/find', { Level: 'Series', Query: { StudyInstanceUID: studyUID }, Expand: true }, FACTS_TIMEOUT_MS);
  const series: { orthancId: string; seriesInstanceUID: string; instanceCount: number }[] = [];
  const otherModalities: string[] = [];
  for (const s of found) {
    const tags = s.MainDicomTags ?? {};
    if (isIgnoredSeries(tags)) {
      if (tags.Modality) otherModalities.push(tags.Modality.toUpperCase());
      continue;
    }
    if (tags.SeriesInstanceUID) series.push({ orthancId: s.ID, seriesInstanceUID: tags.SeriesInstanceUID, instanceCount: s.Instances?.length ?? 0 });
  }
  return { series, otherModalities };
}

/**
 * Each series' facts from its WADO-RS metadata (every instance: one DERIVED instance makes the series
 * derived), with the order's facts; largest series first. A series Orthanc no longer has is left out.
 */
export async function seriesFactsOf(
  o: OrthancClient,
  studyUID: string,
  series: readonly { orthancId: string; seriesInstanceUID: string }[],
  order: OrderFacts,
): Promise<RoutableSeries[]> {
  const out = await Promise.all(
    series.map(async (s) => {
      let meta: DicomJson[];
      try {
        // Under the configured DICOMweb root (ORTHANC_DICOMWEB_ROOT), never an assumed '/dicom-web'.
        const path = dicomWebPath(o, `/studies/${encodeURIComponent(studyUID)}/series/${encodeURIComponent(s.seriesInstanceUID)}/metadata`);
        meta = await orthancJson<DicomJson[]>(o, path, { headers: { accept: 'application/dicom+json' }, timeoutMs: FACTS_TIMEOUT_MS });
      } catch (e) {
        if (e instanceof OrthancError && e.status === 404) return null;
        throw e;
      }
      if (!Array.isArray(meta) || !meta.length) return null;
      return { ...studyFacts(meta, order), orthancId: s.orthancId };
    }),
  );
  return out.filter((x): x is RoutableSeries => x !== null).sort((a, b) => b.instanceCount - a.instanceCount);
}

/** Per-series facts without the order's, cached by series UID and instance count (new images → read again). */
export type SeriesFactsCache = Map<string, { at: number; facts: RoutableSeries }>;
const SERIES_TTL_MS = 60_000;

/** What a study's facts take from Orthanc: its image series' facts (without the order's) and the other series' modalities. */
interface PacsFacts {
  facts: RoutableSeries[];
  otherModalities: string[];
}

/**
 * A study's facts from Orthanc: the series list is asked for (an index query), so a series or images
 * that arrived since are seen; each series' metadata is read again only when its instance count
 * changed (or after a minute). null when the study has no series there.
 */
async function readPacsFacts(o: OrthancClient, studyUID: string, cache: SeriesFactsCache): Promise<PacsFacts | null> {
  const { series, otherModalities } = await findImageSeries(o, studyUID);
  if (!series.length && !otherModalities.length) return null;
  const now = Date.now();
  const key = (s: { seriesInstanceUID: string; instanceCount: number }) => `${studyUID}|${s.seriesInstanceUID}|${s.instanceCount}`;
  const missing = series.filter((s) => {
    const hit = cache.get(key(s));
    return !hit || now - hit.at > SERIES_TTL_MS;
  });
  for (const f of await seriesFactsOf(o, studyUID, missing, {})) {
    const s = missing.find((x) => x.orthancId === f.orthancId)!;
    cache.set(key(s), { at: now, facts: f });
  }
  if (cache.size > 5000) for (const k of [...cache.keys()].slice(0, 1000)) cache.delete(k);
  return { facts: series.map((s) => cache.get(key(s))?.facts).filter((f): f is RoutableSeries => !!f), otherModalities };
}

/** The Orthanc part joined with the HL7 order's facts (read from our database on every call: an order may come any time). */
async function withOrder(db: Kysely<DB>, studyUID: string, pacs: PacsFacts | null): Promise<StudyFacts | null> {
  if (!pacs) return null;
  const order = await orderFacts(db, studyUID, pacs.facts.find((s) => s.accessionNumber)?.accessionNumber);
  const facts = pacs.facts.map((s) => ({ ...s, clinicalIndication: order.clinicalIndication?.trim() || null }));
  return summariseStudy(facts, pacs.otherModalities);
}

/**
 * Orthanc's change log position (`/changes?last`): every stored or modified resource moves it, in the
 * same index transaction as the change itself (a deletion does not: see FACTS_RECHECK_MS). A caller gets a position read after it asked:
 * a read already under way may predate the caller's moment, so the caller waits for the next one;
 * callers that ask while no read has started share it (a worklist's studies take one read, not one each).
 */
function changeLogPosition(o: OrthancClient): () => Promise<number> {
  let queued: Promise<number> | null = null;
  let running: Promise<unknown> | null = null;
  const read = async () => (await orthancJson<{ Last?: number }>(o, '/changes?last', { timeoutMs: FACTS_TIMEOUT_MS })).Last ?? 0;
  return () => {
    if (queued) return queued;
    const start = () => {
      queued = null;
      const p = read();
      running = p.then(
        () => (running = null),
        () => (running = null),
      );
      return p;
    };
    queued = (running ?? Promise.resolve()).then(start);
    return queued;
  };
}

/** Cached Orthanc facts per study, each valid while Orthanc's change log has not moved past the position it was read at. */
const STUDY_CACHE_MAX = 2000;
/**
 * Orthanc 1.10 logs no change for a deletion (it drops the deleted resources' entries instead), so a
 * study's cached facts are searched for again after this long even when the log has not moved: a
 * series or study deleted from the PACS is gone from the facts within it.
 */
export const FACTS_RECHECK_MS = 3_000;

/**
 * The study-facts resolver the trust controls use (ctx.facts). Each call reads Orthanc's change log
 * position (one cheap index query, shared by concurrent callers); a study's Orthanc facts are searched
 * for again when the log moved since they were read (anything stored or modified in the PACS: seen by
 * the next call) or after `recheckMs` (a deletion, which the log does not record). A worklist of N
 * unchanged studies costs one query, not N series searches. The HL7 order is read on every call.
 * PACS unreachable → null (callers fail closed).
 */
export function orthancStudyFactsResolver(o: OrthancClient, db: Kysely<DB>, opts: { recheckMs?: number } = {}): (studyUID: string) => Promise<StudyFacts | null> {
  const recheckMs = opts.recheckMs ?? FACTS_RECHECK_MS;
  const seriesCache: SeriesFactsCache = new Map();
  const studies = new Map<string, { position: number; readAt: number; pacs: PacsFacts | null }>();
  const position = changeLogPosition(o);
  return async (studyUID) => {
    try {
      const at = await position();
      const hit = studies.get(studyUID);
      if (hit && hit.position === at && Date.now() - hit.readAt < recheckMs) return await withOrder(db, studyUID, hit.pacs);
      // Searched after the position was read: a change landing meanwhile moves the log past `at`, so the next call searches again.
      const readAt = Date.now();
      const pacs = await readPacsFacts(o, studyUID, seriesCache);
      studies.delete(studyUID);
      studies.set(studyUID, { position: at, readAt, pacs });
      if (studies.size > STUDY_CACHE_MAX) studies.delete(studies.keys().next().value!);
      return await withOrder(db, studyUID, pacs);
    } catch {
      return null;
    }
  };
}
