/** The few Orthanc REST calls the pre-read needs (change feed, an arrived study's series), over THE gateway Orthanc client. */
import { OrthancError, orthancGet, type OrthancClient } from '../orthanc/client.js';
import { imageFingerprint, isIgnoredSeries } from '../../src/core/triage/arrival.js';

/** The pre-read's name for THE gateway Orthanc client (ctx.orthanc): plain data, cloned into the inference workers. */
export type OrthancAccess = OrthancClient;
export { OrthancError, orthancGet };

export interface Change {
  ChangeType: string;
  ID: string;
  ResourceType: string;
  Seq: number;
}

export async function fetchChanges(o: OrthancAccess, since: number, limit = 200): Promise<{ Changes: Change[]; Done: boolean; Last: number }> {
  return orthancGet(o, `/changes?since=${since}&limit=${limit}`);
}

interface OrthancSeries {
  ID: string;
  Instances: string[];
  MainDicomTags: Record<string, string | undefined>;
}

export interface ArrivedStudy {
  orthancId: string;
  studyInstanceUID: string;
  /** Image series we would read (own output and non-image objects left out). */
  imageSeries: { id: string; seriesInstanceUID: string; modality: string; bodyPart: string; instanceCount: number }[];
  fingerprint: string;
  instanceCount: number;
  /** Tags for routing; read from one instance of the largest image series. */
  tags: { PatientAge?: string; PatientBirthDate?: string; StudyDate?: string; BodyPartExamined?: string; AccessionNumber?: string };
}

/** Everything routing needs about a study, or null when the study is gone (deleted since the change). */
export async function describeStudy(o: OrthancAccess, orthancStudyId: string): Promise<ArrivedStudy | null> {
  let study: { MainDicomTags: Record<string, string | undefined>; PatientMainDicomTags: Record<string, string | undefined> };
  try {
    study = await orthancGet(o, `/studies/${orthancStudyId}`);
  } catch (e) {
    if (e instanceof OrthancError && e.status === 404) return null;
    throw e;
  }
  const series = await orthancGet<OrthancSeries[]>(o, `/studies/${orthancStudyId}/series`);
  const images = series.filter((s) => !isIgnoredSeries(s.MainDicomTags));
  const uids: string[] = [];
  for (const s of images) {
    const inst = await orthancGet<{ MainDicomTags: { SOPInstanceUID?: string } }[]>(o, `/series/${s.ID}/instances`);
    for (const i of inst) if (i.MainDicomTags.SOPInstanceUID) uids.push(i.MainDicomTags.SOPInstanceUID);
  }
  const imageSeries = images
    .map((s) => ({
      id: s.ID,
      seriesInstanceUID: s.MainDicomTags.SeriesInstanceUID ?? '',
      modality: (s.MainDicomTags.Modality ?? '').toUpperCase(),
      bodyPart: (s.MainDicomTags.BodyPartExamined ?? '').toUpperCase(),
      instanceCount: s.Instances.length,
    }))
    .sort((a, b) => b.instanceCount - a.instanceCount);
  let tags: ArrivedStudy['tags'] = { StudyDate: study.MainDicomTags.StudyDate, PatientBirthDate: study.PatientMainDicomTags.PatientBirthDate };
  const first = images.sort((a, b) => b.Instances.length - a.Instances.length)[0]?.Instances[0];
  if (first) {
    const t = await orthancGet<Record<string, unknown>>(o, `/instances/${first}/simplified-tags`);
    const str = (k: string) => (typeof t[k] === 'string' ? (t[k] as string) : undefined);
    tags = { PatientAge: str('PatientAge'), PatientBirthDate: str('PatientBirthDate'), StudyDate: str('StudyDate'), BodyPartExamined: str('BodyPartExamined'), AccessionNumber: str('AccessionNumber') };
  }
  return {
    orthancId: orthancStudyId,
    studyInstanceUID: study.MainDicomTags.StudyInstanceUID ?? '',
    imageSeries,
    fingerprint: imageFingerprint(uids),
    instanceCount: new Set(uids).size,
    tags,
  };
}
