/** HL7 v2 acknowledgements (original mode): build one for a received message, parse one we received. */
import { Hl7Error, get, hl7DateTime, message, parseMessage, segment, type Message } from './codec.js';

export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

export interface AckHeader {
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  controlId: string;
  trigger: string;
  processingId: string;
  version: string;
  /** MSH-9 as type^trigger (for logs: the type of a message, never its content) */
  messageType?: string;
}

/** Header fields of a message we received, for answering it; tolerant so that even a broken message can be answered. */
export function headerOf(text: string): Partial<AckHeader> {
  const first = text.split(/\r\n|\r|\n/).find((l) => l.startsWith('MSH'));
  if (!first || first.length < 8) return {};
  const fs = first[3];
  const comp = first[4];
  const f = first.split(fs);
  // MSH split: f[0]='MSH', f[1]=MSH-2, so MSH-n = f[n-1]
  return {
    sendingApplication: f[2] ?? '',
    sendingFacility: f[3] ?? '',
    receivingApplication: f[4] ?? '',
    receivingFacility: f[5] ?? '',
    trigger: (f[8] ?? '').split(comp)[1] ?? '',
    controlId: f[9] ?? '',
    processingId: f[10] ?? 'P',
    version: f[11] ?? '2.5',
    messageType: (f[8] ?? '').split(comp).slice(0, 2).join('^'),
  };
}

export interface AckInput {
  code: AckCode;
  /** MSH-10 of the message acknowledged */
  controlId: string;
  /** Our own control id for the ACK message */
  ackControlId: string;
  at: string | Date;
  text?: string;
  /** Error location and code (ERR) for AE/AR */
  error?: { segment?: string; field?: number; hl7Code?: string };
  /** The received message's header (we swap sender and receiver) */
  received?: Partial<AckHeader>;
}

export function buildAck(a: AckInput): string {
  const r = a.received ?? {};
  const segs = [
    segment('MSH', [
      r.receivingApplication || 'READING_STATION', r.receivingFacility || 'RS', r.sendingApplication || null, r.sendingFacility || null,
      hl7DateTime(a.at), null, ['ACK', r.trigger || null, 'ACK'], a.ackControlId, r.processingId || 'P', r.version || '2.5',
    ]),
    segment('MSA', [a.code, a.controlId, a.text ? a.text.slice(0, 80) : null]),
  ];
  if (a.code !== 'AA' && a.code !== 'CA') {
    // ERR-2 location, ERR-3 HL7 error code (table 0357), ERR-4 severity, ERR-8 user message
    const loc = a.error?.segment ? [a.error.segment, 1, a.error.field ?? null] : null;
    const code = a.error?.hl7Code ?? (a.code.endsWith('R') ? '200' : '207');
    const meaning: Record<string, string> = { '100': 'Segment sequence error', '101': 'Required field missing', '102': 'Data type error', '200': 'Unsupported message type', '207': 'Application internal error' };
    segs.push(segment('ERR', [null, loc, [code, meaning[code] ?? 'Error', 'HL70357'], 'E', null, null, null, a.text ?? null]));
  }
  return message(segs);
}

export interface ParsedAck {
  code: AckCode;
  controlId: string;
  text: string;
  /** ERR-8 user message, if any */
  error?: string;
  /** ERR-3.1, the HL7 table 0357 error code, if any */
  errorCode?: string;
  /** ERR-2 as SEG-field (e.g. PID-3), if any */
  errorLocation?: string;
}

/** Parses an ACK; throws Hl7Error when it is not one (no MSA, bad code). */
export function parseAck(text: string): ParsedAck {
  const m: Message = parseMessage(text);
  const msa = m.segments.find((s) => s.name === 'MSA');
  if (!msa) throw new Hl7Error('acknowledgement without an MSA segment', 'MSA');
  const code = get(m, msa, 1) as AckCode;
  if (!['AA', 'AE', 'AR', 'CA', 'CE', 'CR'].includes(code)) throw new Hl7Error('MSA-1 is not an acknowledgement code', 'MSA', 1);
  const err = m.segments.find((s) => s.name === 'ERR');
  const errorCode = err ? get(m, err, 3, 1) : '';
  const seg = err ? get(m, err, 2, 1) : '';
  const field = err ? get(m, err, 2, 3) : '';
  return {
    code,
    controlId: get(m, msa, 2),
    text: get(m, msa, 3),
    ...(err ? { error: get(m, err, 8) || get(m, err, 3, 2) } : {}),
    ...(/^\d{1,4}$/.test(errorCode) ? { errorCode } : {}),
    ...(/^[A-Z][A-Z0-9]{2}$/.test(seg) ? { errorLocation: /^\d{1,3}$/.test(field) ? `${seg}-${field}` : seg } : {}),
  };
}
