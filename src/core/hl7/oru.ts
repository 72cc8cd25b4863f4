/**
 * ORU^R01 (HL7 v2.5) for radiology results: MSH, PID, ORC, OBR, then OBX per item.
 *  - P (preliminary) when the AI result is ready; F (final) or C (corrected) only after a recorded
 *    radiologist sign-off: the builder refuses F/C without a signer.
 *  - Codes: LOINC (LN) where a real code exists (report narrative 18782-3, impression 19005-8),
 *    SNOMED CT (SCT) for finding types and sites, local codes with system L otherwise (RS-...).
 */
import type { Code, Finding, ModelRef } from '../findings/finding.js';
import { Hl7Error, hl7DateTime, message, segment, type Component, type FieldValue } from './codec.js';

export type ResultStatus = 'P' | 'F' | 'C';

export interface OruPatient {
  id: string;
  /** Assigning authority of the id */
  idAuthority?: string;
  /** DICOM-style family^given, as in the study */
  name?: string;
  birthDate?: string;
  sex?: string;
}

export interface OruSigner {
  id: string;
  /** DICOM-style family^given^middle^prefix */
  name: string;
  /** ISO 8601 instant of the sign-off */
  at: string;
}

export interface OruInput {
  controlId: string;
  /** ISO 8601 instant the message is created */
  at: string;
  status: ResultStatus;
  accession: string;
  studyInstanceUID: string;
  placerOrderNumber?: string;
  procedure?: Code;
  patient: OruPatient;
  findings: Finding[];
  model: ModelRef;
  /** AI triage priority, e.g. critical / urgent / routine */
  priority?: string;
  /** The radiologist's report text (on sign-off): one OBX TX per line, in order. */
  reportText?: string;
  /** The report's impression: its own OBX TX (LOINC 19005-8). */
  impression?: string;
  signer?: OruSigner;
  sendingApplication?: string;
  sendingFacility?: string;
  receivingApplication?: string;
  receivingFacility?: string;
}

/** HL7 table 0396 symbols for the coding systems we use. */
const HL7_SYSTEM: Record<string, string> = { SCT: 'SCT', LN: 'LN', DCM: 'DCM', UCUM: 'UCUM', RADLEX: 'RADLEX', RL: 'RADLEX' };
const cwe = (c: Code): Component[] => [c.value, c.meaning, HL7_SYSTEM[c.scheme] ?? 'L'];
const local = (value: string, text: string): Component[] => [value, text, 'L'];

export const ORU_CODES = {
  aiPriority: local('RS-AI-PRIORITY', 'AI triage priority'),
  aiSummary: local('RS-AI-SUMMARY', 'AI findings summary'),
  finding: local('RS-AI-FINDING', 'AI finding'),
  confidence: local('RS-AI-CONFIDENCE', 'AI confidence'),
  region: local('RS-AI-REGION', 'Image region'),
  verdict: local('RS-VERDICT', 'Radiologist verdict'),
  /** SNOMED CT 363698007 |Finding site| */
  findingSite: ['363698007', 'Finding site', 'SCT'] as Component[],
  /** LOINC 18782-3 Radiology Study observation (narrative) */
  reportText: ['18782-3', 'Radiology Study observation (narrative)', 'LN'] as Component[],
  /** LOINC 19005-8 Radiology Imaging study [Impression] (narrative) */
  impression: ['19005-8', 'Radiology Imaging study [Impression] (narrative)', 'LN'] as Component[],
};

/** Family^given DICOM person name -> XPN/XCN components. */
const nameParts = (pn?: string): string[] => (pn ?? '').split('^');

export function regionText(f: Finding): string {
  return f.regions
    .map((r) => {
      const where = `image ${r.image.sopInstanceUID}${r.image.frameNumber ? ` frame ${r.image.frameNumber}` : ''}`;
      if (r.box) return `${where} box x=${round(r.box.x)} y=${round(r.box.y)} w=${round(r.box.width)} h=${round(r.box.height)}`;
      if (r.polygon) return `${where} polygon ${r.polygon.map(([x, y]) => `${round(x)},${round(y)}`).join(' ')}`;
      return `${where} (whole image)`;
    })
    .join('; ');
}
const round = (n: number) => String(Math.round(n * 100) / 100);

export function summaryText(findings: Finding[]): string {
  const shown = findings.filter((f) => f.status !== 'rejected');
  if (!shown.length) return findings.length ? `No finding confirmed (${findings.length} AI finding(s) rejected).` : 'No AI finding.';
  return shown.map((f) => `${f.label} (${Math.round(f.confidence * 100)}%, ${f.severity}${f.status === 'ai-unverified' ? ', unverified' : `, ${f.status}`})`).join('; ');
}

/** Builds the ORU^R01 text (segments terminated by \r). Throws Hl7Error for what it must not send. */
export function buildOru(input: OruInput): string {
  const { status } = input;
  if (status !== 'P' && status !== 'F' && status !== 'C') throw new Hl7Error(`result status must be P, F or C, not ${String(status)}`, 'OBR', 25);
  if (status !== 'P' && (!input.signer || !input.signer.id || !input.signer.name || Number.isNaN(Date.parse(input.signer.at)))) {
    throw new Hl7Error(`result status ${status} needs a recorded radiologist sign-off (signer id, name and time)`, 'OBR', 25);
  }
  if (status !== 'P' && input.findings.some((f) => f.status === 'ai-unverified')) {
    throw new Hl7Error(`result status ${status} with unreviewed AI findings: every finding needs a verdict first`, 'OBX', 11);
  }
  if (!input.controlId || input.controlId.length > 199) throw new Hl7Error('MSH-10 message control id missing or too long', 'MSH', 10);
  if (!input.accession) throw new Hl7Error('OBR-3 accession number missing', 'OBR', 3);
  if (!input.patient.id) throw new Hl7Error('PID-3 patient id missing', 'PID', 3);

  const now = hl7DateTime(input.at);
  const signedAt = input.signer ? hl7DateTime(input.signer.at) : undefined;
  const signer = input.signer ? [input.signer.id, ...nameParts(input.signer.name).slice(0, 2)] : undefined;
  const method: FieldValue = [input.model.name, `${input.model.name} ${input.model.version}`, 'L'];
  const equipment: FieldValue = [`${input.model.name}-${input.model.version}`, input.model.manufacturer];
  const procedure = input.procedure ? cwe(input.procedure) : local('RS-IMAGING', 'Imaging study');

  const segs: string[] = [];
  segs.push(
    segment('MSH', [
      input.sendingApplication ?? 'READING_STATION', input.sendingFacility ?? 'RS',
      input.receivingApplication ?? 'RIS', input.receivingFacility ?? 'HOSPITAL',
      now, null, ['ORU', 'R01', 'ORU_R01'], input.controlId, 'P', '2.5', null, null, 'AL', 'NE',
    ]),
  );
  const pn = nameParts(input.patient.name);
  segs.push(
    segment('PID', [1, null, [input.patient.id, null, null, input.patient.idAuthority ?? null, 'MR'], null, [pn[0] ?? null, pn[1] ?? null, pn[2] ?? null], null, input.patient.birthDate ?? null, input.patient.sex ?? null]),
  );
  segs.push(segment('ORC', ['RE', input.placerOrderNumber ?? null, input.accession, null, status === 'P' ? 'IP' : 'CM']));
  const obr: FieldValue[] = [];
  obr[0] = 1;
  obr[1] = input.placerOrderNumber ?? null;
  obr[2] = [input.accession];
  obr[3] = procedure;
  obr[6] = now; // OBR-7 observation date-time
  obr[21] = signedAt ?? now; // OBR-22 results status change
  obr[23] = 'RAD'; // OBR-24 diagnostic service section
  obr[24] = status; // OBR-25
  if (signer) obr[31] = [[...signer, signedAt ?? null]]; // OBR-32 principal result interpreter (NDL: subcomponents)
  for (let i = 0; i < obr.length; i++) if (obr[i] === undefined) obr[i] = null;
  segs.push(segment('OBR', obr));

  let n = 0;
  const obx = (type: string, id: FieldValue, sub: string, value: FieldValue, units: FieldValue = null, ai = true) => {
    const f: FieldValue[] = [];
    f[0] = ++n;
    f[1] = type;
    f[2] = id;
    f[3] = sub;
    f[4] = value;
    f[5] = units;
    f[10] = status; // OBX-11
    f[13] = now; // OBX-14 date-time of the observation
    if (signer) f[15] = signer; // OBX-16 responsible observer
    if (ai) {
      f[16] = method; // OBX-17 observation method: the model
      f[17] = equipment; // OBX-18 equipment instance: model and version
    }
    for (let i = 0; i < f.length; i++) if (f[i] === undefined) f[i] = null;
    segs.push(segment('OBX', f));
  };

  if (input.priority) obx('CWE', ORU_CODES.aiPriority, '', [input.priority, input.priority, 'L']);
  obx('TX', ORU_CODES.aiSummary, '', summaryText(input.findings));
  input.findings.forEach((f, i) => {
    const sub = String(i + 1);
    obx('CWE', ORU_CODES.finding, sub, cwe(f.type), null, true);
    obx('NM', ORU_CODES.confidence, sub, round(f.confidence * 100), ['%', 'percent', 'UCUM']);
    if (f.findingSite) obx('CWE', ORU_CODES.findingSite, sub, cwe(f.findingSite));
    obx('ST', ORU_CODES.region, sub, regionText(f));
    if (f.status !== 'ai-unverified') {
      const why = [f.verdict?.reason, f.status === 'modified' && f.originalId ? `replaces ${f.originalId}` : undefined].filter(Boolean).join(', ');
      obx('CWE', ORU_CODES.verdict, sub, [f.status, `${f.status}${why ? ` (${why})` : ''}`, 'L'], null, false);
    }
  });
  // The report as text lines: one OBX TX per line (receivers show TX lines in order; a line break inside
  // one OBX-5 would need the \.br\ escape that many RIS do not render). Blank lines become a single space.
  if (input.reportText) for (const line of input.reportText.split(/\r?\n/)) obx('TX', ORU_CODES.reportText, '1', line.trim() ? line : ' ', null, false);
  if (input.impression?.trim()) obx('TX', ORU_CODES.impression, '1', input.impression.trim(), null, false);
  return message(segs);
}
