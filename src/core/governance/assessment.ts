/**
 * AI result assessment as a DICOM SR, in the manner of IHE's AI Result Assessment work: each accept /
 * modify / reject of an AI finding becomes a TID 1500 Comprehensive 3D SR written with the project's SR
 * writer (src/core/sr/writer.ts), VERIFIED by the radiologist who gave the verdict, holding the assessed
 * finding as it stands after the verdict (the verdict as its qualitative evaluation: accepted, modified,
 * or rejected = Absent) under the SAME Tracking UID as in the AI result, and referencing the AI result
 * SR it assesses (when the gateway wrote one) in the Current Requested Procedure Evidence. UIDs are
 * derived from the verdict, so exporting the same assessment twice gives the same instance.
 */
import type { Finding } from '../findings/finding.js';
import type { Dataset } from '../sr/dicom.js';
import { SOP_CLASS } from '../sr/codes.js';
import { uidFromString } from '../sr/uid.js';
import { buildMeasurementReport, type SrStudy } from '../sr/writer.js';

export interface AssessmentInput {
  /** The verdict's own number (finding_verdicts.seq): the assessment's identity. */
  seq: number;
  action: 'accept' | 'modify' | 'reject';
  /** The finding after the verdict (accepted / modified / rejected, with the verdict). */
  finding: Finding;
  assessor: { name: string; organization: string; at: string };
  study: SrStudy;
  sopClassUIDs: Record<string, string>;
  /** The AI result SR the finding came in, when known. */
  aiResult?: { seriesInstanceUID: string; sopInstanceUID: string } | null;
  institutionName?: string;
}

export function assessmentUids(studyUID: string, seq: number): { sopInstanceUID: string; seriesInstanceUID: string } {
  return { sopInstanceUID: uidFromString(`ai-assessment:${studyUID}:${seq}`), seriesInstanceUID: uidFromString(`ai-assessment-series:${studyUID}`) };
}

export function buildAssessmentSr(a: AssessmentInput): Dataset {
  const expected = { accept: 'accepted', modify: 'modified', reject: 'rejected' }[a.action];
  if (a.finding.status !== expected) throw new Error(`assessment ${a.seq}: the finding is ${a.finding.status}, the verdict says ${a.action}`);
  const uids = assessmentUids(a.study.StudyInstanceUID, a.seq);
  const ds = buildMeasurementReport({
    kind: 'verified',
    findings: [a.finding],
    study: a.study,
    model: a.finding.model,
    ...uids,
    seriesNumber: 9003,
    instanceNumber: a.seq,
    contentDateTime: a.assessor.at,
    signer: a.assessor,
    sopClassUIDs: a.sopClassUIDs,
    ...(a.institutionName ? { institutionName: a.institutionName } : {}),
  });
  ds.SeriesDescription = 'AI RESULT ASSESSMENT';
  if (a.aiResult) {
    // The assessed AI result is evidence of this document (same study), beside the images it marks.
    const ev = (ds.CurrentRequestedProcedureEvidenceSequence as { StudyInstanceUID: string; ReferencedSeriesSequence: { SeriesInstanceUID: string; ReferencedSOPSequence: { ReferencedSOPClassUID: string; ReferencedSOPInstanceUID: string }[] }[] }[])[0];
    ev.ReferencedSeriesSequence.push({
      SeriesInstanceUID: a.aiResult.seriesInstanceUID,
      ReferencedSOPSequence: [{ ReferencedSOPClassUID: SOP_CLASS.comprehensive3DSR, ReferencedSOPInstanceUID: a.aiResult.sopInstanceUID }],
    });
  }
  return ds;
}
