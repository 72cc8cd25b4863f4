/**
 * Loading result objects: the list from the gateway (one way in: the reader policy applied there),
 * then each object's bytes through DICOMweb (the gateway's /dicom-web, same origin, session cookie),
 * parsed with dcmjs into what the overlay and panel draw.
 */
import { api } from 'dicomweb-client';
import { apiJson } from '../auth/api';
import { DICOMWEB_ROOT } from '../dicomweb/client';
import { parseDicomPart10 } from '../core/sr/dicom';
import type { ListedObject } from '../core/objects/policy';
import { parseSeg } from '../core/objects/seg';
import { parsePmap } from '../core/objects/pmap';
import { parsePr } from '../core/objects/gsps';
import { contentTree, keyImages } from '../core/objects/content';
import { initialObjectsState, useObjectsStore, type Loaded } from './state';

let client: api.DICOMwebClient | null = null;
function dicomweb(): api.DICOMwebClient {
  client ??= new api.DICOMwebClient({ url: window.location.origin + DICOMWEB_ROOT, singlepart: false } as never);
  return client;
}

async function loadOne(o: ListedObject): Promise<Loaded> {
  const bytes = (await dicomweb().retrieveInstance({ studyInstanceUID: o.studyInstanceUID, seriesInstanceUID: o.seriesInstanceUID, sopInstanceUID: o.sopInstanceUID } as never)) as unknown as ArrayBuffer;
  const ds = parseDicomPart10(bytes);
  switch (o.kind) {
    case 'seg': return { kind: 'seg', seg: parseSeg(ds) };
    case 'pmap': return { kind: 'pmap', pmap: parsePmap(ds) };
    case 'pr': return { kind: 'pr', pr: parsePr(ds) };
    case 'ko': return { kind: 'ko', ...keyImages(ds) };
    case 'sr': return { kind: 'sr', tree: contentTree(ds) };
  }
}

/** Objects being fetched now: a second list arriving meanwhile does not fetch them again. */
const inflight = new Set<string>();

/** The study's objects: list, then each object (SRs already read as findings are not fetched). */
export async function loadObjects(studyUID: string): Promise<void> {
  const keep = useObjectsStore.getState();
  if (keep.studyUID !== studyUID) useObjectsStore.setState({ studyUID, ...initialObjectsState() });
  let list: ListedObject[];
  try {
    list = (await apiJson<{ objects: ListedObject[] }>(`/api/studies/${studyUID}/objects`)).objects;
  } catch (e) {
    if (useObjectsStore.getState().studyUID === studyUID) useObjectsStore.setState({ listError: (e as Error).message });
    return;
  }
  if (useObjectsStore.getState().studyUID !== studyUID) return;
  const known = new Set(list.map((o) => o.sopInstanceUID));
  // Objects the server no longer lists for this reader (AI switched off for the study) are dropped at once.
  const loaded = Object.fromEntries(Object.entries(useObjectsStore.getState().loaded).filter(([k]) => known.has(k)));
  useObjectsStore.setState({ list, loaded, listError: null });
  await Promise.all(
    list
      .filter((o) => !(o.kind === 'sr' && o.ingestedAsFindings) && !loaded[o.sopInstanceUID] && !inflight.has(o.sopInstanceUID))
      .map(async (o) => {
        inflight.add(o.sopInstanceUID);
        try {
          const l = await loadOne(o);
          if (useObjectsStore.getState().studyUID === studyUID) useObjectsStore.setState((s) => ({ loaded: { ...s.loaded, [o.sopInstanceUID]: l } }));
        } catch (e) {
          if (useObjectsStore.getState().studyUID === studyUID) useObjectsStore.setState((s) => ({ errors: { ...s.errors, [o.sopInstanceUID]: (e as Error).message } }));
        } finally {
          inflight.delete(o.sopInstanceUID);
        }
      }),
  );
}
