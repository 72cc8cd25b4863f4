/**
 * Which of a study's result objects (SEG, parametric map, PR, KO, SR) a role may not see: THE reader
 * policy (gateway/trust/service.ts readerVisible) applied to each AI-made object as the finding it
 * amounts to (src/core/objects/policy.ts). One function, used by both ways out: the objects list
 * (./register.ts) and the DICOMweb proxy (gateway/dicomweb/proxy.ts), so an object hidden from the
 * list cannot be fetched by its UIDs either (issue 13's lesson: a second path is where the bugs were).
 *
 * Cached per gateway (one instance per context): the study's instance list for a short while (an
 * instance or series the cache does not know forces a fresh read, so a newly arrived AI object is
 * never served on a stale list), each object's summary by SOP Instance UID (content never changes
 * under a UID), and the policy snapshot until a policy or study-AI change, or a few seconds.
 */
import type { GatewayContext } from '../context.js';
import { dicomWebPath, orthancJson } from '../orthanc/client.js';
import { readerPolicySnapshot, readerVisible, type ReaderPolicySnapshot } from '../trust/service.js';
import { dcmjs } from '../../src/core/sr/dicom.js';
import { objectKindOf, summarise, type ObjectSummary } from '../../src/core/objects/summary.js';
import { asPolicyFinding } from '../../src/core/objects/policy.js';

type DicomJson = Record<string, { vr?: string; Value?: unknown[] }>;
const CACHE_MAX = 5000;
const STUDY_TTL_MS = 15_000;
const SNAPSHOT_TTL_MS = 5_000;

const first = (j: DicomJson, tag: string) => {
  const v = j[tag]?.Value?.[0];
  return typeof v === 'string' ? v : undefined;
};

export interface StudyInstanceRow {
  cls: string | undefined;
  series: string;
  sop: string;
}

export interface ClassifiedObjects {
  /** Every result object of the study that could be read (an unreadable one is left out, logged). */
  objects: ObjectSummary[];
  /** SOP Instance UIDs of the objects this role may not see. */
  hidden: Set<string>;
  /** Per series holding a hidden object: how many of its instances are hidden, and how many it has. */
  hiddenSeries: Map<string, { hidden: number; total: number }>;
  /** The study's instances as this answer saw them. */
  rows: StudyInstanceRow[];
}

export interface ObjectVisibility {
  /** The study's instances (series, SOP class), cached briefly. */
  rows(study: string): Promise<StudyInstanceRow[]>;
  classify(study: string, role: string | null, log?: (msg: string) => void): Promise<ClassifiedObjects>;
  /** Drops the cached instance list of a study and the policy snapshot: the next answer is read afresh. */
  forget(study: string): void;
}

const perContext = new WeakMap<object, ObjectVisibility>();

export function objectVisibility(ctx: Pick<GatewayContext, 'db' | 'models' | 'orthanc' | 'facts' | 'events'>): ObjectVisibility {
  const hit = perContext.get(ctx);
  if (hit) return hit;
  const made = create(ctx);
  perContext.set(ctx, made);
  return made;
}

function create(ctx: Pick<GatewayContext, 'db' | 'models' | 'orthanc' | 'facts' | 'events'>): ObjectVisibility {
  const studies = new Map<string, { at: number; rows: StudyInstanceRow[] }>();
  const summaries = new Map<string, ObjectSummary | null>();
  let snapshot: { at: number; snap: Promise<ReaderPolicySnapshot> } | null = null;
  ctx.events.on('policy-changed', () => void (snapshot = null));
  ctx.events.on('study-ai-changed', () => void (snapshot = null));

  async function instancesOf(study: string): Promise<StudyInstanceRow[]> {
    const c = studies.get(study);
    if (c && Date.now() - c.at < STUDY_TTL_MS) return c.rows;
    const json = await orthancJson<DicomJson[]>(ctx.orthanc, dicomWebPath(ctx.orthanc, `/studies/${study}/instances?includefield=00080016&includefield=0020000E`)).catch((e: { status?: number }) => {
      if (e.status === 404) return [] as DicomJson[];
      throw e;
    });
    const rows = json.map((j) => ({ cls: first(j, '00080016'), series: first(j, '0020000E') ?? '', sop: first(j, '00080018') ?? '' })).filter((r) => r.series && r.sop);
    if (studies.size >= CACHE_MAX) studies.delete(studies.keys().next().value as string);
    studies.set(study, { at: Date.now(), rows });
    return rows;
  }

  async function summaryOf(study: string, series: string, sop: string): Promise<ObjectSummary | null> {
    const hit = summaries.get(sop);
    if (hit !== undefined) return hit;
    const meta = await orthancJson<DicomJson[]>(ctx.orthanc, dicomWebPath(ctx.orthanc, `/studies/${study}/series/${series}/instances/${sop}/metadata`));
    const ds = meta[0] ? dcmjs.data.DicomMetaDictionary.naturalizeDataset(meta[0]) : null;
    const s = ds ? summarise(ds) : null;
    if (summaries.size >= CACHE_MAX) summaries.delete(summaries.keys().next().value as string);
    summaries.set(sop, s);
    return s;
  }

  function policySnapshot(): Promise<ReaderPolicySnapshot> {
    if (!snapshot || Date.now() - snapshot.at > SNAPSHOT_TTL_MS) {
      const snap = readerPolicySnapshot(ctx);
      snapshot = { at: Date.now(), snap };
      snap.catch(() => (snapshot = null));
    }
    return snapshot.snap;
  }

  return {
    rows: instancesOf,
    forget(study) {
      studies.delete(study);
      snapshot = null;
    },
    async classify(study, role, log) {
      const rows = await instancesOf(study);
      const wanted = rows.filter((r) => objectKindOf(r.cls) !== null);
      if (!wanted.length) return { objects: [], hidden: new Set(), hiddenSeries: new Map(), rows };
      // One object the PACS cannot give (deleted meanwhile, unreadable) is left out, not the whole list;
      // it is not cached, so the next call tries it again.
      const objects = (
        await Promise.all(
          wanted.map((w) =>
            summaryOf(study, w.series, w.sop).catch((e: Error) => {
              log?.(`objects: an object could not be read: ${e.message}`);
              return null;
            }),
          ),
        )
      ).filter((x): x is ObjectSummary => !!x && x.studyInstanceUID === study);
      const ai = objects.filter((o) => o.creator.creator === 'ai');
      const hidden = new Set<string>();
      if (ai.length) {
        const visible = new Set(readerVisible(await policySnapshot(), { studyUID: study, facts: await ctx.facts(study) }, ai.map(asPolicyFinding), role).map((f) => f.id));
        for (const o of ai) if (!visible.has(asPolicyFinding(o).id)) hidden.add(o.sopInstanceUID);
      }
      // An object that could not be read says nothing of who made it: hidden (fail closed), as it is
      // left out of the list.
      const read = new Set(objects.map((o) => o.sopInstanceUID));
      for (const w of wanted) if (!read.has(w.sop)) hidden.add(w.sop);
      const hiddenSeries = new Map<string, { hidden: number; total: number }>();
      for (const r of rows) {
        if (!hidden.has(r.sop)) continue;
        const e = hiddenSeries.get(r.series) ?? { hidden: 0, total: rows.filter((x) => x.series === r.series).length };
        e.hidden++;
        hiddenSeries.set(r.series, e);
      }
      return { objects, hidden, hiddenSeries, rows };
    },
  };
}
