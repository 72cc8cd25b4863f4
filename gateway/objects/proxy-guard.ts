/**
 * The DICOMweb proxy's side of THE reader policy for result objects: what the objects list hides
 * (./visibility.ts) cannot be fetched through /dicom-web by its UIDs either. Decided per request on
 * the path the router matched:
 * - an instance that is a hidden object: refused (403);
 * - a series holding hidden objects: its metadata and instance search are answered without them;
 *   any other read of the series (retrieve, rendered, thumbnail) is refused;
 * - a whole study holding hidden objects: its metadata and instance search are answered without
 *   them, its series search without a series made only of them; retrieving the whole study is
 *   refused (retrieve its series).
 * Images are never slowed by this: a request that names no result object (the study's cached instance
 * list says which are) is passed on without asking the policy.
 */
import { objectKindOf } from '../../src/core/objects/summary.js';
import type { GatewayContext } from '../context.js';
import { objectVisibility, type StudyInstanceRow } from './visibility.js';

export type ProxyDecision =
  | { kind: 'pass' }
  | { kind: 'refuse'; error: string }
  /** Pass, dropping these instances (and series made only of them) from a JSON answer. */
  | { kind: 'filter'; sops: Set<string>; series: Set<string> };

const PATH = /^\/studies\/([0-9.]+)(?:\/series\/([0-9.]+))?(?:\/instances\/([0-9.]+))?(?:\/([a-z]+))?/;

export function createProxyGuard(ctx: Pick<GatewayContext, 'db' | 'models' | 'orthanc' | 'facts' | 'events'>) {
  const visibility = objectVisibility(ctx);
  const isObject = (r: StudyInstanceRow) => objectKindOf(r.cls) !== null;

  return async function decide(path: string, role: string, log: (m: string) => void): Promise<ProxyDecision> {
    const m = PATH.exec(path);
    if (!m) return { kind: 'pass' };
    const [, study, series, sop, suffix] = m;
    let rows = await visibility.rows(study);
    // A series or instance the cached list does not know has just arrived: read the list afresh.
    if ((sop && !rows.some((r) => r.sop === sop)) || (series && !rows.some((r) => r.series === series))) {
      visibility.forget(study);
      rows = await visibility.rows(study);
    }
    const named = rows.filter((r) => (!series || r.series === series) && (!sop || r.sop === sop));
    if (!named.some(isObject)) return { kind: 'pass' };
    const { hidden, hiddenSeries } = await visibility.classify(study, role, log);
    if (sop) return hidden.has(sop) ? { kind: 'refuse', error: 'this result object is hidden from you by the AI controls or your role' } : { kind: 'pass' };
    const touched = named.filter((r) => hidden.has(r.sop));
    if (!touched.length) return { kind: 'pass' };
    const whollyHidden = new Set([...hiddenSeries].filter(([, c]) => c.hidden === c.total).map(([s]) => s));
    const searchOrMetadata = suffix === 'metadata' || suffix === 'instances' || (!series && suffix === 'series');
    if (searchOrMetadata) return { kind: 'filter', sops: new Set(touched.map((r) => r.sop)), series: whollyHidden };
    return {
      kind: 'refuse',
      error: series
        ? 'this series holds result objects hidden from you by the AI controls or your role; read its metadata or instances'
        : 'this study holds result objects hidden from you by the AI controls or your role; retrieve its series',
    };
  };
}

/** A DICOM JSON answer without the dropped instances and series. */
export function filterDicomJson(body: string, drop: { sops: Set<string>; series: Set<string> }): string {
  const list = JSON.parse(body) as Record<string, { Value?: unknown[] }>[];
  const keep = list.filter((j) => {
    const sop = j['00080018']?.Value?.[0];
    const ser = j['0020000E']?.Value?.[0];
    if (typeof sop === 'string') return !drop.sops.has(sop);
    return !(typeof ser === 'string' && drop.series.has(ser));
  });
  return JSON.stringify(keep);
}
