/**
 * Inbound HL7 from the RIS/HIS: ADT (patient events) and ORM^O01 / OMI^O23 (imaging orders).
 * An order yields the context the worklist shows: accession, clinical indication, priority,
 * ordering physician (and the Study Instance UID when the RIS assigns it, IPC-3 / ZDS-1).
 * Anything malformed throws Hl7Error with a reason and the location, so the listener can NAK it.
 */
import { Hl7Error, get, parseMessage, segmentsNamed, type Message, type Segment } from './codec.js';
import { parseInboundReport, type InboundReport } from './inboundReport.js';

export interface OrderContext {
  accession: string;
  studyInstanceUID?: string;
  placerOrderNumber?: string;
  orderControl: string;
  clinicalIndication?: string;
  priority?: string;
  orderingPhysician?: string;
  procedure?: { code: string; text: string; system: string };
  patientId?: string;
}

export type Inbound =
  | { kind: 'order'; messageType: string; controlId: string; orders: OrderContext[]; truncated: string[] }
  | { kind: 'report'; messageType: string; controlId: string; report: InboundReport }
  | { kind: 'adt'; messageType: string; controlId: string; event: string; patientId: string };

/**
 * The longest value stored for each order field. Identifiers (and codes) longer than this are refused:
 * cutting one would make it name something else. Free text (indication, physician, procedure text)
 * is truncated, and the ACK says which field was (Inbound.truncated).
 */
export const ORDER_LIMITS = {
  accession: 64,
  placerOrderNumber: 64,
  studyInstanceUID: 64,
  patientId: 64,
  orderControl: 2,
  priority: 16,
  procedureCode: 64,
  procedureSystem: 32,
  clinicalIndication: 1000,
  orderingPhysician: 200,
  procedureText: 200,
} as const;

/** Refuses an identifier over its limit, naming where it came from (never its value). */
function limitId(value: string, max: number, what: string, seg: string, field: number): string {
  if (value.length > max) throw new Hl7Error(`${seg}-${field} ${what} longer than ${max} characters`, seg, field, '102');
  return value;
}

/** Truncates free text over its limit and notes it for the ACK. */
function limitText(value: string | undefined, max: number, where: string, truncated: string[]): string | undefined {
  if (value === undefined || value.length <= max) return value;
  truncated.push(`${where} truncated to ${max} characters`);
  return value.slice(0, max);
}

/** HL7 table 0027 priorities and the TQ1-9 codes, in words. */
const PRIORITY: Record<string, string> = { S: 'stat', A: 'asap', R: 'routine', P: 'preop', C: 'callback', T: 'timing-critical', PRN: 'as-needed' };

function required(m: Message, s: Segment | undefined, name: string): Segment {
  if (!s) throw new Hl7Error(`${m.segments.length ? get(m, 'MSH', 9) + ': ' : ''}required segment ${name} missing`, name, undefined, '100');
  return s;
}

function personName(m: Message, s: Segment, field: number): string | undefined {
  const id = get(m, s, field, 1);
  const family = get(m, s, field, 2);
  const given = get(m, s, field, 3);
  const prefix = get(m, s, field, 6);
  const name = [prefix, given, family].filter(Boolean).join(' ');
  if (!name && !id) return undefined;
  return name ? (id ? `${name} (${id})` : name) : id;
}

function orderFrom(m: Message, orc: Segment, obr: Segment | undefined, tq1: Segment | undefined, ipc: Segment | undefined, zds: Segment | undefined, patientId: string | undefined, truncated: string[]): OrderContext {
  const L = ORDER_LIMITS;
  const control = get(m, orc, 1);
  if (!control) throw new Hl7Error('ORC-1 order control is empty', 'ORC', 1, '101');
  limitId(control, L.orderControl, 'order control', 'ORC', 1);
  // The accession from the first of IPC-1, OBR-18, ORC-3, OBR-3 that is filled; errors name that one.
  const accSources: [Segment | undefined, string, number][] = [[ipc, 'IPC', 1], [obr, 'OBR', 18], [orc, 'ORC', 3], [obr, 'OBR', 3]];
  const accFrom = accSources.find(([s, , f]) => s && get(m, s, f));
  if (!accFrom) throw new Hl7Error('no accession number (IPC-1, OBR-18, ORC-3 and OBR-3 all empty)', 'OBR', 18, '101');
  const accession = limitId(get(m, accFrom[0]!, accFrom[2]), L.accession, 'accession number', accFrom[1], accFrom[2]);
  const studyUID = (ipc && get(m, ipc, 3)) || (zds && get(m, zds, 1)) || undefined;
  const uidAt: [string, number] = ipc && get(m, ipc, 3) ? ['IPC', 3] : ['ZDS', 1];
  if (studyUID && !/^[0-9]+(\.[0-9]+)*$/.test(studyUID)) throw new Hl7Error(`${uidAt[0]}-${uidAt[1]} Study Instance UID is not a DICOM UID`, uidAt[0], uidAt[1], '102');
  if (studyUID) limitId(studyUID, L.studyInstanceUID, 'Study Instance UID', uidAt[0], uidAt[1]);
  const placer = get(m, orc, 2) || (obr && get(m, obr, 2)) || undefined;
  if (placer) limitId(placer, L.placerOrderNumber, 'placer order number', get(m, orc, 2) ? 'ORC' : 'OBR', 2);
  const prioCode = (tq1 && get(m, tq1, 9)) || get(m, orc, 7, 6) || (obr && get(m, obr, 27, 6)) || '';
  if (prioCode) limitId(prioCode, L.priority, 'priority', tq1 && get(m, tq1, 9) ? 'TQ1' : get(m, orc, 7, 6) ? 'ORC' : 'OBR', tq1 && get(m, tq1, 9) ? 9 : get(m, orc, 7, 6) ? 7 : 27);
  const indicationAt = obr ? (get(m, obr, 31, 2) || get(m, obr, 31, 1) ? 'OBR-31 clinical indication' : 'OBR-13 relevant clinical information') : '';
  const indication = limitText((obr && (get(m, obr, 31, 2) || get(m, obr, 31, 1) || get(m, obr, 13))) || undefined, L.clinicalIndication, indicationAt, truncated);
  const physician = limitText(personName(m, orc, 12) ?? (obr ? personName(m, obr, 16) : undefined), L.orderingPhysician, personName(m, orc, 12) ? 'ORC-12 ordering provider' : 'OBR-16 ordering provider', truncated);
  let proc: OrderContext['procedure'];
  if (obr && get(m, obr, 4, 1)) {
    const code = limitId(get(m, obr, 4, 1), L.procedureCode, 'procedure code', 'OBR', 4);
    const system = limitId(get(m, obr, 4, 3), L.procedureSystem, 'procedure coding system', 'OBR', 4);
    proc = { code, text: limitText(get(m, obr, 4, 2), L.procedureText, 'OBR-4 procedure text', truncated) ?? '', system };
  }
  return {
    accession,
    ...(studyUID ? { studyInstanceUID: studyUID } : {}),
    placerOrderNumber: placer,
    orderControl: control,
    clinicalIndication: indication,
    priority: prioCode ? PRIORITY[prioCode.toUpperCase()] ?? prioCode.toLowerCase() : undefined,
    orderingPhysician: physician,
    procedure: proc,
    patientId: patientId || undefined,
  };
}

/** Parses an inbound message. Throws Hl7Error (with segment/field) for malformed or unsupported ones. */
export function parseInbound(text: string): Inbound {
  const m = parseMessage(text);
  const type = get(m, 'MSH', 9, 1);
  const trigger = get(m, 'MSH', 9, 2);
  const controlId = get(m, 'MSH', 10);
  if (!type) throw new Hl7Error('MSH-9 message type is empty', 'MSH', 9, '101');
  if (!controlId) throw new Hl7Error('MSH-10 message control id is empty', 'MSH', 10, '101');
  if (controlId.length > 199) throw new Hl7Error('MSH-10 message control id longer than 199 characters', 'MSH', 10, '102');
  if (!get(m, 'MSH', 12)) throw new Hl7Error('MSH-12 version id is empty', 'MSH', 12, '101');
  const messageType = `${type}^${trigger}`;
  const pid = segmentsNamed(m, 'PID')[0];
  /** PID-3's first identifier: required, and refused when longer than we store. */
  const patientIdOf = (p: Segment): string => {
    const id = get(m, p, 3, 1);
    if (!id) throw new Hl7Error('PID-3 patient identifier is empty', 'PID', 3, '101');
    return limitId(id, ORDER_LIMITS.patientId, 'patient identifier', 'PID', 3);
  };

  if (type === 'ADT') {
    return { kind: 'adt', messageType, controlId, event: trigger, patientId: patientIdOf(required(m, pid, 'PID')) };
  }
  if ((type === 'ORM' && trigger === 'O01') || (type === 'OMI' && trigger === 'O23') || (type === 'OMG' && trigger === 'O19')) {
    // An order must say whose it is: without PID (or PID-3) it is refused, not stored as nobody's.
    const patientId = patientIdOf(required(m, pid, 'PID'));
    const orders: OrderContext[] = [];
    const truncated: string[] = [];
    // Each ORC starts an order; the OBR/TQ1/IPC/ZDS until the next ORC belong to it.
    let cur: { orc: Segment; obr?: Segment; tq1?: Segment; ipc?: Segment; zds?: Segment } | null = null;
    const flush = () => cur && orders.push(orderFrom(m, cur.orc, cur.obr, cur.tq1, cur.ipc, cur.zds, patientId, truncated));
    for (const s of m.segments) {
      if (s.name === 'ORC') {
        flush();
        cur = { orc: s };
      } else if (cur && (s.name === 'OBR' || s.name === 'TQ1' || s.name === 'IPC' || s.name === 'ZDS')) {
        const k = s.name.toLowerCase() as 'obr' | 'tq1' | 'ipc' | 'zds';
        cur[k] ??= s;
      } else if (!cur && (s.name === 'OBR' || s.name === 'IPC')) {
        throw new Hl7Error(`${s.name} before any ORC`, s.name, undefined, '100');
      }
    }
    flush();
    if (!orders.length) throw new Hl7Error(`${messageType} without an ORC segment`, 'ORC', undefined, '100');
    return { kind: 'order', messageType, controlId, orders, truncated };
  }
  // A report the RIS sends for an earlier study (priors read elsewhere): kept to show beside the current study.
  if (type === 'ORU' && trigger === 'R01') return { kind: 'report', messageType, controlId, report: parseInboundReport(m) };
  throw new Hl7Error(`unsupported message type ${messageType.slice(0, 16)}: this listener takes ADT, ORM^O01, OMI^O23, ORU^R01`, 'MSH', 9, '200');
}
