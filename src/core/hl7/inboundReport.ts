/**
 * Inbound ORU^R01 from the RIS: a report for an earlier study (a prior read elsewhere), to show beside the
 * current study. The text is the OBX TX/FT/ST values in order (each repetition a line); the study is named by
 * the accession (OBR-3, else ORC-3) and, where the RIS sends it, the Study Instance UID (ZDS-1 or an OBX of
 * value type RP/ST coded 113014 / "Study Instance UID"). Malformed messages throw Hl7Error with the location.
 */
import { Hl7Error, get, segmentsNamed, type Message } from './codec.js';

export interface InboundReport {
  patientId: string;
  accession: string;
  studyInstanceUID?: string;
  /** OBR-25: P, F, C... */
  status: string;
  /** OBR-7 as given (HL7 DTM), or '' */
  observedAt: string;
  text: string;
}

export const INBOUND_REPORT_LIMITS = { accession: 64, patientId: 64, studyInstanceUID: 64, text: 100_000 };

export function parseInboundReport(m: Message): InboundReport {
  const pid = segmentsNamed(m, 'PID')[0];
  if (!pid) throw new Hl7Error('ORU without PID: a report must say whose it is', 'PID', undefined, '100');
  const patientId = get(m, pid, 3, 1);
  if (!patientId) throw new Hl7Error('PID-3 patient identifier is empty', 'PID', 3, '101');
  if (patientId.length > INBOUND_REPORT_LIMITS.patientId) throw new Hl7Error('PID-3 patient identifier too long', 'PID', 3, '102');
  const obr = segmentsNamed(m, 'OBR')[0];
  if (!obr) throw new Hl7Error('ORU without OBR', 'OBR', undefined, '100');
  const accession = get(m, obr, 3, 1) || get(m, 'ORC', 3, 1);
  if (!accession) throw new Hl7Error('OBR-3 filler order number (accession) is empty', 'OBR', 3, '101');
  if (accession.length > INBOUND_REPORT_LIMITS.accession) throw new Hl7Error('OBR-3 accession too long', 'OBR', 3, '102');
  const lines: string[] = [];
  let studyInstanceUID = get(m, 'ZDS', 1, 1) || undefined;
  for (const obx of segmentsNamed(m, 'OBX')) {
    const type = get(m, obx, 2);
    const code = get(m, obx, 3, 1);
    if ((code === '113014' || /study instance uid/i.test(get(m, obx, 3, 2))) && !studyInstanceUID) {
      studyInstanceUID = get(m, obx, 5, 1) || undefined;
      continue;
    }
    if (type !== 'TX' && type !== 'FT' && type !== 'ST') continue;
    const reps = obx.fields[5]?.length ?? 0;
    for (let r = 1; r <= reps; r++) lines.push(get(m, obx, 5, 1, r));
  }
  if (studyInstanceUID && !/^[0-9]+(\.[0-9]+)*$/.test(studyInstanceUID)) throw new Hl7Error('Study Instance UID is not a DICOM UID', 'ZDS', 1, '102');
  const text = lines.join('\n').trim();
  if (!text) throw new Hl7Error('ORU without report text (no OBX of type TX, FT or ST)', 'OBX', 5, '101');
  if (text.length > INBOUND_REPORT_LIMITS.text) throw new Hl7Error('report text too long', 'OBX', 5, '102');
  return { patientId, accession, ...(studyInstanceUID ? { studyInstanceUID } : {}), status: get(m, obr, 25) || 'F', observedAt: get(m, obr, 7), text };
}
