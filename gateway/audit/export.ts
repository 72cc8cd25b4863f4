/**
 * Audit export: JSON lines, CSV and DICOM Audit Messages (PS3.15 A.5, the RFC 3881 schema with
 * DICOM's coded-value attributes), so a hospital's ATNA repository can take them.
 * Exports are de-identified: no free text leaves (notes may hold anything a user typed), and for
 * the governance role actors are pseudonymised. Records never held patient names in the first place.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { hashRecord, macValid, type AuditRecord } from './audit.js';
import { auditKeyOf } from './key.js';

export interface ExportRecord {
  seq: number;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  outcome: number;
  studyUID: string | null;
  findingId: string | null;
  detail: unknown;
  hash: string;
  /** The record's HMAC under the installation's audit key (verifiable only with that key). */
  mac: string | null;
  /** Whether the record's link, hash and MAC held when it was exported (null: not checked). */
  verified: boolean | null;
}

const FREE_TEXT_KEYS = new Set(['note', 'comment', 'text', 'displayName', 'patientName', 'PatientName', 'password']);

function scrub(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(scrub);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!FREE_TEXT_KEYS.has(k)) out[k] = scrub(x);
    return out;
  }
  return v;
}

/** Stable pseudonym for a user name (same user, same pseudonym, within one installation's secret). */
export function pseudonym(actor: string, secret: string): string {
  return 'user-' + crypto.createHmac('sha256', secret).update(actor).digest('hex').slice(0, 12);
}

export function toExportRecords(rows: (AuditRecord & { verified?: boolean })[], opts: { pseudonymiseActors: boolean; secret: string }): ExportRecord[] {
  return rows.map((r) => {
    let detail: unknown = null;
    try {
      detail = r.detail === null ? null : scrub(JSON.parse(r.detail));
    } catch {
      detail = null;
    }
    // Model actors ("model:name@version") are not people: they stay readable.
    const actor = opts.pseudonymiseActors && !r.actor.startsWith('model:') && r.actor !== 'system' ? pseudonym(r.actor, opts.secret) : r.actor;
    return { seq: r.seq, at: r.at, actor, role: r.role, action: r.action, outcome: r.outcome, studyUID: r.study_uid, findingId: r.finding_id, detail, hash: r.hash, mac: r.mac ?? null, verified: r.verified ?? null };
  });
}

/**
 * The records of a time range, each checked as it is read: it links to its predecessor in the table,
 * its content matches its hash, and its MAC holds under the audit key (`verified`). A record rewritten
 * with SQL, even with the plain chain recomputed after it, exports as verified: false.
 */
export async function auditRange(db: Kysely<DB>, from: string, to: string): Promise<(AuditRecord & { verified: boolean })[]> {
  const rows = await db.selectFrom('audit').selectAll().where('at', '>=', from).where('at', '<', to).orderBy('seq').execute();
  const { key } = auditKeyOf(db);
  const out: (AuditRecord & { verified: boolean })[] = [];
  let prev: AuditRecord | undefined;
  for (const r of rows) {
    let prevHash: string;
    if (prev && prev.seq === r.seq - 1) prevHash = prev.hash;
    else {
      const p = await db.selectFrom('audit').select(['hash']).where('seq', '<', r.seq).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      prevHash = p?.hash ?? '0'.repeat(64);
    }
    out.push({ ...r, verified: r.prev_hash === prevHash && hashRecord(r) === r.hash && macValid(r, key) });
    prev = r;
  }
  return out;
}

export function toJsonLines(recs: ExportRecord[]): string {
  return recs.map((r) => JSON.stringify(r)).join('\n') + (recs.length ? '\n' : '');
}

const CSV_COLUMNS = ['seq', 'at', 'actor', 'role', 'action', 'outcome', 'studyUID', 'findingId', 'detail', 'hash', 'mac', 'verified'] as const;

export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  // Quote always when needed; neutralise spreadsheet formulas (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(recs: ExportRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of recs) lines.push(CSV_COLUMNS.map((c) => csvField(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

interface Coded {
  code: string;
  scheme: string;
  meaning: string;
}
const dcm = (code: string, meaning: string): Coded => ({ code, scheme: 'DCM', meaning });

/** The kind of a 'phi-read' record (gateway/dicomweb/phi-audit.ts: 'opening', 'frames', 'series-metadata', 'qido-studies', ...). */
function phiReadKind(detail: unknown): string {
  const k = detail && typeof detail === 'object' ? (detail as { kind?: unknown }).kind : undefined;
  return typeof k === 'string' ? k : '';
}

/**
 * Which DICOM audit event each of our actions is (PS3.15 A.5.3 / PS3.16 CID 400–403). `detail` decides
 * for PHI reads: a QIDO search is a Query (110112, Execute), any retrieve (opening stream, frames,
 * metadata, rendered) is DICOM Instances Accessed (110103, Read).
 */
export function dicomEventFor(action: string, detail?: unknown): { id: Coded; type?: Coded; actionCode: 'C' | 'R' | 'U' | 'D' | 'E' } {
  switch (action) {
    case 'phi-read':
      return phiReadKind(detail).startsWith('qido') ? { id: dcm('110112', 'Query'), actionCode: 'E' } : { id: dcm('110103', 'DICOM Instances Accessed'), actionCode: 'R' };
    case 'login':
      return { id: dcm('110114', 'User Authentication'), type: dcm('110122', 'Login'), actionCode: 'E' };
    case 'logout':
      return { id: dcm('110114', 'User Authentication'), type: dcm('110123', 'Logout'), actionCode: 'E' };
    case 'access-denied':
      return { id: dcm('110113', 'Security Alert'), type: dcm('110132', 'Use of Restricted Function'), actionCode: 'E' };
    case 'settings-changed':
    case 'ai-disabled-study':
    case 'ai-enabled-study':
      return { id: dcm('110113', 'Security Alert'), type: dcm('110131', 'Software Configuration'), actionCode: 'E' };
    case 'application-start':
      return { id: dcm('110100', 'Application Activity'), type: dcm('110120', 'Application Start'), actionCode: 'E' };
    case 'audit-exported':
    case 'hl7-sent':
    case 'hl7-acknowledged':
      return { id: dcm('110106', 'Export'), actionCode: 'R' };
    case 'sr-stored':
      return { id: dcm('110104', 'DICOM Instances Transferred'), actionCode: 'C' };
    case 'finding-shown':
    case 'study-opened':
    case 'overlay-toggled':
      return { id: dcm('110103', 'DICOM Instances Accessed'), actionCode: 'R' };
    default:
      if (/inference-|ai-results/.test(action)) return { id: dcm('110103', 'DICOM Instances Accessed'), actionCode: 'R' };
      if (/verdict|accept|reject|modif|sign/.test(action)) return { id: dcm('110103', 'DICOM Instances Accessed'), actionCode: 'U' };
      return { id: dcm('110100', 'Application Activity'), actionCode: 'E' };
  }
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const codeAttrs = (c: Coded) => `csd-code="${xmlEscape(c.code)}" codeSystemName="${c.scheme}" originalText="${xmlEscape(c.meaning)}"`;

/** One PS3.15 A.5.1 AuditMessage for one record. */
export function toDicomAuditMessage(r: ExportRecord, sourceId: string): string {
  const ev = dicomEventFor(r.action, r.detail);
  const outcome = [0, 4, 8, 12].includes(r.outcome) ? r.outcome : 8;
  const isModel = r.actor.startsWith('model:');
  const parts = [
    `<AuditMessage>`,
    `<EventIdentification EventActionCode="${ev.actionCode}" EventDateTime="${xmlEscape(r.at)}" EventOutcomeIndicator="${outcome}">`,
    `<EventID ${codeAttrs(ev.id)}/>`,
    ev.type ? `<EventTypeCode ${codeAttrs(ev.type)}/>` : '',
    `<EventOutcomeDescription>${xmlEscape(r.action)}</EventOutcomeDescription>`,
    `</EventIdentification>`,
    `<ActiveParticipant UserID="${xmlEscape(r.actor)}" UserIsRequestor="${isModel ? 'false' : 'true'}">`,
    r.role ? `<RoleIDCode csd-code="${xmlEscape(r.role)}" codeSystemName="99RS" originalText="${xmlEscape(r.role)}"/>` : '',
    `</ActiveParticipant>`,
    `<AuditSourceIdentification AuditSourceID="${xmlEscape(sourceId)}">`,
    `<AuditSourceTypeCode csd-code="4" codeSystemName="RFC-3881" originalText="Application Server Process"/>`,
    `</AuditSourceIdentification>`,
  ];
  if (r.studyUID) {
    parts.push(
      `<ParticipantObjectIdentification ParticipantObjectID="${xmlEscape(r.studyUID)}" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="3">`,
      `<ParticipantObjectIDTypeCode csd-code="110180" codeSystemName="DCM" originalText="Study Instance UID"/>`,
      r.findingId ? `<ParticipantObjectDetail type="FindingID" value="${Buffer.from(r.findingId).toString('base64')}"/>` : '',
      `</ParticipantObjectIdentification>`,
    );
  }
  parts.push(`</AuditMessage>`);
  return parts.filter(Boolean).join('');
}

/** Many messages in one document; an ATNA forwarder sends each AuditMessage element as one syslog message. */
export function toDicomAuditXml(recs: ExportRecord[], sourceId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<AuditMessages>\n${recs.map((r) => toDicomAuditMessage(r, sourceId)).join('\n')}\n</AuditMessages>\n`;
}
