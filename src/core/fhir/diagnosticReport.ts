/**
 * FHIR R4 results of a signed study: a transaction Bundle with the DiagnosticReport (the report text as
 * conclusion and presentedForm), the ImagingStudy, one Observation per reported finding (type, site,
 * confidence, the radiologist's verdict as the value: present or absent), the AI algorithm as a Device and
 * the reader as a Practitioner. Plain JSON (no FHIR library at run time); validated in tests against the
 * official R4 definitions. Pure and isomorphic.
 */
import type { Finding, ModelRef } from '../findings/finding.js';

export interface FhirStudy {
  studyInstanceUID: string;
  patientId: string;
  patientIdIssuer?: string;
  patientName?: string;
  accession?: string;
  modalities: string[];
  description?: string;
  /** ISO 8601 (from StudyDate/StudyTime), when known. */
  started?: string;
  numberOfSeries?: number;
  numberOfInstances?: number;
}

export interface FhirReportInput {
  study: FhirStudy;
  findings: Finding[];
  model: ModelRef;
  reader: { username: string; name: string };
  /** ISO 8601 instant of the sign-off (or of the addendum). */
  signedAt: string;
  /** 'final' at sign-off; 'corrected' for an addendum. */
  status: 'final' | 'corrected';
  reportText?: string;
  impression?: string;
  /** Stable ids (urn:uuid) for the bundle entries: fixed at enqueue, so a retry sends the same bundle. */
  ids: { report: string; study: string; device: string; practitioner: string; observations: Record<string, string> };
}

type Json = Record<string, unknown>;

const SNOMED = 'http://snomed.info/sct';
const LOINC = 'http://loinc.org';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const UCUM = 'http://unitsofmeasure.org';
/** Local code system for the reading station's verdicts (accepted, modified, rejected). */
export const VERDICT_SYSTEM = 'urn:reading-station:verdict';

const SYSTEM: Record<string, string> = { SCT: SNOMED, LN: LOINC, DCM, UCUM };
const coding = (c: { value: string; scheme: string; meaning: string }) => ({ system: SYSTEM[c.scheme] ?? `urn:reading-station:${c.scheme.toLowerCase()}`, code: c.value, display: c.meaning });
const urn = (id: string) => `urn:uuid:${id}`;

/** Family^Given DICOM name -> FHIR HumanName text. */
const nameText = (pn?: string) => (pn ?? '').split('^').filter(Boolean).reverse().join(' ');

function utf8Base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

const PRESENT = { system: SNOMED, code: '52101004', display: 'Present' };
const ABSENT = { system: SNOMED, code: '2667000', display: 'Absent' };

export function buildFhirReportBundle(input: FhirReportInput): Json {
  const { study, ids } = input;
  const subject = {
    identifier: { ...(study.patientIdIssuer ? { system: `urn:oid:${study.patientIdIssuer}` } : {}), value: study.patientId },
    ...(study.patientName ? { display: nameText(study.patientName) } : {}),
  };
  const reader = { reference: urn(ids.practitioner), display: nameText(input.reader.name) || input.reader.username };
  const device = { reference: urn(ids.device), display: `${input.model.name} ${input.model.version}` };

  const imagingStudy: Json = {
    resourceType: 'ImagingStudy',
    status: 'available',
    identifier: [
      { system: 'urn:dicom:uid', value: `urn:oid:${study.studyInstanceUID}` },
      ...(study.accession ? [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] }, value: study.accession }] : []),
    ],
    modality: study.modalities.filter((m) => m !== 'SR').map((m) => ({ system: DCM, code: m })),
    subject,
    ...(study.started ? { started: study.started } : {}),
    ...(study.numberOfSeries ? { numberOfSeries: study.numberOfSeries } : {}),
    ...(study.numberOfInstances ? { numberOfInstances: study.numberOfInstances } : {}),
    ...(study.description ? { description: study.description } : {}),
  };

  const deviceRes: Json = {
    resourceType: 'Device',
    identifier: [{ system: 'urn:reading-station:model', value: `${input.model.manufacturer}/${input.model.name}/${input.model.version}` }],
    manufacturer: input.model.manufacturer,
    deviceName: [{ name: input.model.name, type: 'model-name' }],
    version: [{ value: input.model.version }],
    type: { text: 'AI algorithm (image analysis)' },
  };

  const practitioner: Json = {
    resourceType: 'Practitioner',
    identifier: [{ system: 'urn:reading-station:user', value: input.reader.username }],
    ...(input.reader.name ? { name: [{ text: nameText(input.reader.name) }] } : {}),
  };

  const reported = input.findings.filter((f) => f.status !== 'ai-unverified');
  const observations: [string, Json][] = reported.map((f) => {
    const fromAi = f.source !== 'radiologist';
    const obs: Json = {
      resourceType: 'Observation',
      status: input.status === 'corrected' ? 'amended' : 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging', display: 'Imaging' }] }],
      code: { coding: [coding(f.type)], text: f.label },
      subject,
      effectiveDateTime: input.signedAt,
      issued: input.signedAt,
      performer: [reader],
      valueCodeableConcept: { coding: [f.status === 'rejected' ? ABSENT : PRESENT], text: f.status === 'rejected' ? `Absent (AI finding rejected${f.verdict?.reason ? `: ${f.verdict.reason}` : ''})` : 'Present' },
      ...(f.findingSite ? { bodySite: { coding: [coding(f.findingSite)], text: f.findingSite.meaning } } : {}),
      derivedFrom: [{ reference: urn(ids.study) }],
      ...(fromAi ? { device } : {}),
      component: [
        ...(fromAi ? [{ code: { coding: [{ system: DCM, code: '111012', display: 'Certainty of Finding' }] }, valueQuantity: { value: Math.round(f.confidence * 1000) / 10, unit: '%', system: UCUM, code: '%' } }] : []),
        { code: { text: 'Radiologist verdict' }, valueCodeableConcept: { coding: [{ system: VERDICT_SYSTEM, code: f.status, display: f.status }], text: `${f.status} by ${f.verdict?.by ?? input.reader.username}` } },
        ...f.measurements.map((m) => ({ code: { coding: [coding(m.name)] }, valueQuantity: { value: m.value, unit: m.unit.value, system: UCUM, code: m.unit.value } })),
      ],
      ...(f.verdict?.note ? { note: [{ text: f.verdict.note }] } : {}),
    };
    return [ids.observations[f.id], obs];
  });

  const report: Json = {
    resourceType: 'DiagnosticReport',
    status: input.status,
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD', display: 'Radiology' }] }],
    code: { coding: [{ system: LOINC, code: '18748-4', display: 'Diagnostic imaging study' }], ...(study.description ? { text: study.description } : {}) },
    subject,
    effectiveDateTime: study.started ?? input.signedAt,
    issued: input.signedAt,
    performer: [reader],
    resultsInterpreter: [reader],
    result: observations.map(([id]) => ({ reference: urn(id) })),
    imagingStudy: [{ reference: urn(ids.study) }],
    ...(study.accession ? { identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] }, value: study.accession }] } : {}),
    ...(input.impression ? { conclusion: input.impression } : {}),
    ...(input.reportText ? { presentedForm: [{ contentType: 'text/plain; charset=utf-8', language: 'en', data: utf8Base64(input.reportText), title: 'Radiology report' }] } : {}),
  };

  const entry = (id: string, resource: Json) => ({ fullUrl: urn(id), resource, request: { method: 'POST', url: String(resource.resourceType) } });
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      entry(ids.report, report),
      entry(ids.study, imagingStudy),
      entry(ids.device, deviceRes),
      entry(ids.practitioner, practitioner),
      ...observations.map(([id, o]) => entry(id, o)),
    ],
  };
}

/** DICOM DA + TM -> ISO 8601 (UTC assumed when no offset is known); undefined when the date is missing. */
export function dicomToIso(da?: string, tm?: string): string | undefined {
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec((da ?? '').trim());
  if (!d) return undefined;
  const t = /^(\d{2})(\d{2})?(\d{2})?/.exec((tm ?? '').trim());
  return `${d[1]}-${d[2]}-${d[3]}T${t?.[1] ?? '00'}:${t?.[2] ?? '00'}:${t?.[3] ?? '00'}Z`;
}
