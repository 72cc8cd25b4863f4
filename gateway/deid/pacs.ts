/** The PACS reads of a de-identified export, over THE gateway Orthanc client: a study's image instances and their files. */
import { OrthancError, orthancFetch, orthancGet, orthancJson, type OrthancClient } from '../orthanc/client.js';
import { isIgnoredSeries } from '../../src/core/triage/arrival.js';

export interface PacsInstance {
  orthancId: string;
  sopInstanceUID: string;
  seriesInstanceUID: string;
}

async function lookup(o: OrthancClient, uid: string, type: 'Study' | 'Instance'): Promise<string | null> {
  const hits = await orthancJson<{ ID: string; Type: string }[]>(o, '/tools/lookup', { method: 'POST', body: uid, headers: { 'content-type': 'text/plain' } });
  return hits.find((h) => h.Type === type)?.ID ?? null;
}

/** The image instances of a study (our own output and non-image series left out, as the pre-read reads it); null when the study is not in the PACS. */
export async function studyImages(o: OrthancClient, studyUID: string): Promise<PacsInstance[] | null> {
  const id = await lookup(o, studyUID, 'Study');
  if (!id) return null;
  const series = await orthancGet<{ ID: string; MainDicomTags: Record<string, string | undefined> }[]>(o, `/studies/${id}/series`);
  const out: PacsInstance[] = [];
  for (const s of series) {
    if (isIgnoredSeries(s.MainDicomTags)) continue;
    const inst = await orthancGet<{ ID: string; MainDicomTags: { SOPInstanceUID?: string } }[]>(o, `/series/${s.ID}/instances`);
    for (const i of inst) if (i.MainDicomTags.SOPInstanceUID) out.push({ orthancId: i.ID, sopInstanceUID: i.MainDicomTags.SOPInstanceUID, seriesInstanceUID: s.MainDicomTags.SeriesInstanceUID ?? '' });
  }
  return out;
}

export async function instanceByUid(o: OrthancClient, sopInstanceUID: string): Promise<string | null> {
  return lookup(o, sopInstanceUID, 'Instance');
}

/** The instance as stored (Part 10 bytes). */
export async function instanceFile(o: OrthancClient, orthancId: string): Promise<Uint8Array> {
  const r = await orthancFetch(o, `/instances/${orthancId}/file`);
  if (!r.ok) throw new OrthancError(`Orthanc GET /instances/…/file: HTTP ${r.status}`, r.status);
  return new Uint8Array(await r.arrayBuffer());
}
