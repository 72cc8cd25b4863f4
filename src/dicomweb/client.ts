/**
 * DICOMweb through the gateway (/dicom-web, same origin, session cookie). The browser never talks
 * to Orthanc. Failures become a DicomWebError with a message a reader can act on.
 */
import { api } from 'dicomweb-client';
import type { DicomJson } from '../core/imaging/dicomJson';

export const DICOMWEB_ROOT = '/dicom-web';

export class DicomWebError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DicomWebError';
  }
}

let client: api.DICOMwebClient | null = null;
function getClient(): api.DICOMwebClient {
  client ??= new api.DICOMwebClient({ url: window.location.origin + DICOMWEB_ROOT, singlepart: false } as never);
  return client;
}

function describe(status: number, what: string): string {
  if (status === 404) return `${what} was not found on the PACS (it may have been deleted or moved).`;
  if (status === 401) return 'Your session has ended. Please log in again.';
  if (status === 403) return `You are not allowed to view ${what}.`;
  if (status === 502 || status === 503 || status === 504) return `The PACS is not reachable right now (${status}). ${what} could not be loaded.`;
  if (status === 0) return `The network request for ${what} failed (gateway unreachable).`;
  return `Loading ${what} failed (HTTP ${status}).`;
}

async function wrap<T>(what: string, p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (e) {
    const status = typeof (e as { status?: unknown }).status === 'number' ? (e as { status: number }).status : 0;
    throw new DicomWebError(status, describe(status, what));
  }
}

/** Description, modalities, instances, accession, time, patient's age, sex and birth date, body part. */
const STUDY_FIELDS = ['00081030', '00080061', '00201208', '00080050', '00080030', '00101010', '00100040', '00100030', '00180015'];

/**
 * The study list. The query string is built here, not by dicomweb-client: it percent-encodes the commas of
 * `includefield` (%2C), and Orthanc then reads the whole list as one unknown tag and drops every field in it
 * (the worklist's Description was empty on every row). Repeated `includefield` parameters are unambiguous.
 */
export function searchStudies(): Promise<DicomJson[]> {
  return wrap('the study list', async () => {
    const q = [...STUDY_FIELDS.map((f) => `includefield=${f}`), 'limit=500'].join('&');
    const res = await fetch(`${DICOMWEB_ROOT}/studies?${q}`, { headers: { accept: 'application/dicom+json' }, credentials: 'same-origin' });
    if (!res.ok) throw Object.assign(new Error(`QIDO ${res.status}`), { status: res.status });
    const r = res.status === 204 ? [] : ((await res.json()) as DicomJson[] | undefined);
    return Array.isArray(r) ? r : [];
  });
}

export function searchSeries(studyInstanceUID: string): Promise<DicomJson[]> {
  return wrap('this study', async () => {
    const r = (await getClient().searchForSeries({ studyInstanceUID, queryParams: { includefield: '0008103E,00200011,00201209,00080060' } as never })) as DicomJson[] | undefined;
    // Orthanc answers an empty list (not 404) for an unknown study at this level.
    if (!Array.isArray(r) || r.length === 0) throw Object.assign(new Error('empty'), { status: 404 });
    return r;
  });
}

export function retrieveSeriesMetadata(studyInstanceUID: string, seriesInstanceUID: string): Promise<DicomJson[]> {
  return wrap('this series', async () => {
    const r = (await getClient().retrieveSeriesMetadata({ studyInstanceUID, seriesInstanceUID } as never)) as DicomJson[] | undefined;
    if (!Array.isArray(r) || r.length === 0) throw Object.assign(new Error('empty'), { status: 404 });
    return r;
  });
}

/** Server-rendered JPEG of one frame, for thumbnails (no decode work in the browser). */
export function renderedUrl(studyUID: string, seriesUID: string, sopUID: string, frame = 1): string {
  return `${DICOMWEB_ROOT}/studies/${studyUID}/series/${seriesUID}/instances/${sopUID}/frames/${frame}/rendered`;
}

/** Every instance of a study in one QIDO request (series + SOP + instance number), for thumbnails. */
export function searchInstances(studyInstanceUID: string): Promise<DicomJson[]> {
  return wrap('this study', async () => {
    const r = (await getClient().searchForInstances({ studyInstanceUID, queryParams: { includefield: '0020000E,00200013,00280008,00080016' } as never })) as DicomJson[] | undefined;
    return Array.isArray(r) ? r : [];
  });
}

/** Cornerstone image id for one frame, fetched by the WADO-RS loader through the gateway. */
export function wadorsImageId(framePath: string): string {
  return `wadors:${window.location.origin}${DICOMWEB_ROOT}${framePath}`;
}
