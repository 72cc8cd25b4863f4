/**
 * Inbound HL7 from the RIS/HIS: ADT (patient events) and ORM^O01 / OMI^O23 (imaging orders).
 * An order yields the context the worklist shows: accession, clinical indication, priority,
 * ordering physician (and the Study Instance UID when the RIS assigns it, IPC-3 / ZDS-1).
 * Anything malformed throws Hl7Error with a reason and the location, so the listener can NAK it.
 */
import { Hl7Error, get, parseMessage, segmentsNamed, type Message, type Segment } from './codec.js';

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
  | { kind: 'order'; messageType: string; controlId: string; orders: OrderContext[] }
  | { kind: 'adt'; messageType: string; controlId: string; event: string; patientId: string };

/** HL7 table 0027 priorities and the TQ1-9 codes, in words. */
const PRIORITY: Record<string, string> = { S: 'stat', A: 'asap', R: 'routine', P: 'preop', C: 'callback', T: 'timing-critical', PRN: 'as-needed' };

function required(m: Message, s: Segment | undefined, name: string): Segment {
  if (!s) throw new Hl7Error(`${m.segments.length ? get(m, 'MSH', 9) + ': ' : ''}required segment ${name} missing`, name);
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

function orderFrom(m: Message, orc: Segment, obr: Segment | undefined, tq1: Segment | undefined, ipc: Segment | undefined, zds: Segment | undefined, patientId?: string): OrderContext {
  const control = get(m, orc, 1);
  if (!control) throw new Hl7Error('ORC-1 order control is empty', 'ORC', 1);
  const accession = (ipc && get(m, ipc, 1)) || (obr && get(m, obr, 18)) || get(m, orc, 3) || (obr && get(m, obr, 3)) || '';
  if (!accession) throw new Hl7Error('no accession number (IPC-1, OBR-18, ORC-3 and OBR-3 all empty)', 'OBR', 18);
  if (accession.length > 64) throw new Hl7Error('accession number longer than 64 characters', 'OBR', 18);
  const studyUID = (ipc && get(m, ipc, 3)) || (zds && get(m, zds, 1)) || undefined;
  if (studyUID && !/^[0-9]+(\.[0-9]+)*$/.test(studyUID)) throw new Hl7Error(`Study Instance UID "${studyUID.slice(0, 70)}" is not a DICOM UID`, ipc ? 'IPC' : 'ZDS', ipc ? 3 : 1);
  const prioCode = (tq1 && get(m, tq1, 9)) || get(m, orc, 7, 6) || (obr && get(m, obr, 27, 6)) || '';
  const indication = (obr && (get(m, obr, 31, 2) || get(m, obr, 31, 1) || get(m, obr, 13))) || undefined;
  const physician = personName(m, orc, 12) ?? (obr ? personName(m, obr, 16) : undefined);
  const proc = obr && get(m, obr, 4, 1) ? { code: get(m, obr, 4, 1), text: get(m, obr, 4, 2), system: get(m, obr, 4, 3) } : undefined;
  return {
    accession,
    ...(studyUID ? { studyInstanceUID: studyUID } : {}),
    placerOrderNumber: get(m, orc, 2) || (obr && get(m, obr, 2)) || undefined,
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
  if (!type) throw new Hl7Error('MSH-9 message type is empty', 'MSH', 9);
  if (!controlId) throw new Hl7Error('MSH-10 message control id is empty', 'MSH', 10);
  if (!get(m, 'MSH', 12)) throw new Hl7Error('MSH-12 version id is empty', 'MSH', 12);
  const messageType = `${type}^${trigger}`;
  const pid = segmentsNamed(m, 'PID')[0];
  const patientId = pid ? get(m, pid, 3, 1) : undefined;

  if (type === 'ADT') {
    const p = required(m, pid, 'PID');
    if (!get(m, p, 3, 1)) throw new Hl7Error('PID-3 patient identifier is empty', 'PID', 3);
    return { kind: 'adt', messageType, controlId, event: trigger, patientId: get(m, p, 3, 1) };
  }
  if ((type === 'ORM' && trigger === 'O01') || (type === 'OMI' && trigger === 'O23') || (type === 'OMG' && trigger === 'O19')) {
    const orders: OrderContext[] = [];
    // Each ORC starts an order; the OBR/TQ1/IPC/ZDS until the next ORC belong to it.
    let cur: { orc: Segment; obr?: Segment; tq1?: Segment; ipc?: Segment; zds?: Segment } | null = null;
    const flush = () => cur && orders.push(orderFrom(m, cur.orc, cur.obr, cur.tq1, cur.ipc, cur.zds, patientId));
    for (const s of m.segments) {
      if (s.name === 'ORC') {
        flush();
        cur = { orc: s };
      } else if (cur && (s.name === 'OBR' || s.name === 'TQ1' || s.name === 'IPC' || s.name === 'ZDS')) {
        const k = s.name.toLowerCase() as 'obr' | 'tq1' | 'ipc' | 'zds';
        cur[k] ??= s;
      } else if (!cur && (s.name === 'OBR' || s.name === 'IPC')) {
        throw new Hl7Error(`${s.name} before any ORC`, s.name);
      }
    }
    flush();
    if (!orders.length) throw new Hl7Error(`${messageType} without an ORC segment`, 'ORC');
    return { kind: 'order', messageType, controlId, orders };
  }
  throw new Hl7Error(`unsupported message type ${messageType}: this listener takes ADT, ORM^O01, OMI^O23`, 'MSH', 9);
}
