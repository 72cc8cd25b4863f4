/**
 * Inbound MLLP listener for ADT, ORM/OMI orders and ORU^R01 reports of studies read elsewhere (shown as a
 * prior's report, issue 16). Every frame gets an ACK: AA when stored,
 * AE/AR with the reason when not (the message is kept in hl7_rejected_messages for an admin).
 * A bad frame never stops the listener. Message content is never logged (it carries patient data):
 * log lines name the message type, control id, segment and field position (inboundLogLine).
 */
import net from 'node:net';
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { FrameDecoder, frame } from './framing.js';
import { buildAck, headerOf, type AckCode } from '../../src/core/hl7/ack.js';
import { Hl7Error } from '../../src/core/hl7/codec.js';
import { parseInbound } from '../../src/core/hl7/orders.js';
import '../outbox/schema.js';
import '../findings/migrations.js';

export interface MllpListener {
  port: number;
  close(): Promise<void>;
}

/** A token from the header fit for a log line: letters, digits and a few separators, bounded; anything else is replaced. */
function logToken(v: string | undefined, max = 40): string {
  if (!v) return '-';
  const t = v.slice(0, max).replace(/[^A-Za-z0-9._^-]/g, '?');
  return v.length > max ? `${t}…` : t;
}

/**
 * The log line for a message: its type, control id, the ACK code, and for a refusal the segment and field
 * position and the HL7 error code. Never a field's content and never the reason text (which may name a
 * value a sender put in the wrong place): messages carry patient data, logs must not.
 */
export function inboundLogLine(remote: string | null, r: { code: AckCode; messageType?: string; controlId?: string; segment?: string; field?: number; hl7Code?: string; internal?: string }): string {
  const where = r.segment ? ` at ${logToken(r.segment, 3)}${r.field ? `-${r.field}` : ''}` : '';
  const why = r.internal ? ` internal error (${logToken(r.internal)})` : r.hl7Code ? ` HL7 error ${logToken(r.hl7Code, 4)}` : '';
  return `MLLP ${remote ?? '-'}: ${r.code} ${logToken(r.messageType, 20)} control=${logToken(r.controlId)}${where}${why}`;
}

export interface InboundResult {
  ack: string;
  code: AckCode;
  /** The reason given in the ACK (for the sender and the admin's rejected list); not for logs. */
  reason?: string;
  /** A log line without patient data (inboundLogLine). */
  logLine: string;
}

/** Handles one inbound message; returns the ACK text. Exported for tests of the rules without sockets. */
export async function handleInbound(db: Kysely<DB>, text: string, remote: string | null): Promise<InboundResult> {
  const hdr = headerOf(text);
  const at = new Date();
  const ackId = `RSA${crypto.randomBytes(8).toString('hex')}`;
  try {
    const msg = parseInbound(text);
    if (msg.kind === 'order') {
      await db.transaction().execute(async (trx) => {
        for (const o of msg.orders) {
          const row = {
            accession: o.accession,
            study_uid: o.studyInstanceUID ?? null,
            placer_order: o.placerOrderNumber ?? null,
            order_control: o.orderControl,
            clinical_indication: o.clinicalIndication ?? null,
            priority: o.priority ?? null,
            ordering_physician: o.orderingPhysician ?? null,
            procedure_code: o.procedure?.code ?? null,
            procedure_text: o.procedure?.text ?? null,
            patient_id: o.patientId ?? null,
            message_control_id: msg.controlId,
            received_at: at.toISOString(),
          };
          await trx
            .insertInto('hl7_orders')
            .values(row)
            .onConflict((oc) => oc.column('accession').doUpdateSet({ ...row, study_uid: row.study_uid }))
            .execute();
        }
      });
    }
    if (msg.kind === 'report') {
      const r = msg.report;
      await db
        .insertInto('inbound_reports')
        .values({ accession: r.accession, study_uid: r.studyInstanceUID ?? null, patient_id: r.patientId, status: r.status, observed_at: r.observedAt || null, text: r.text, control_id: msg.controlId, received_at: at.toISOString() })
        .execute();
    }
    // Stored; free text cut to its limit is named in MSA-3 (field positions only).
    const note = msg.kind === 'order' && msg.truncated.length ? `stored; ${msg.truncated.join('; ')}` : undefined;
    return {
      ack: buildAck({ code: 'AA', controlId: msg.controlId, ackControlId: ackId, at, received: hdr, ...(note ? { text: note } : {}) }),
      code: 'AA',
      ...(note ? { reason: note } : {}),
      logLine: inboundLogLine(remote, { code: 'AA', messageType: hdr.messageType, controlId: msg.controlId }),
    };
  } catch (e) {
    const hl7 = e instanceof Hl7Error;
    const internal = hl7 ? undefined : String((e as NodeJS.ErrnoException).code ?? (e as Error).name ?? 'Error');
    // The sender and the admin see which kind of internal error, not its text (a database error can quote values).
    const reason = hl7 ? e.message : `internal error (${internal})`;
    // AR: we cannot or will not process this kind of message at all; AE: it is ours but its content is wrong.
    const code: AckCode = !hl7 ? 'AE' : /unsupported message type|must start with MSH|delimiters|encoding characters|batch/.test(reason) ? 'AR' : 'AE';
    await db
      .insertInto('hl7_rejected_messages')
      .values({ received_at: at.toISOString(), remote, control_id: hdr.controlId || null, ack_code: code, reason, raw: text.slice(0, 1_000_000) })
      .execute()
      .catch(() => {});
    const hl7Code = (hl7 && e.hl7Code) || (/unsupported message type/.test(reason) ? '200' : /missing|empty/.test(reason) ? '101' : /segment/.test(reason) ? '100' : '207');
    const ack = buildAck({ code, controlId: hdr.controlId ?? '', ackControlId: ackId, at, text: reason, received: hdr, error: { ...(hl7 && e.segment ? { segment: e.segment } : {}), ...(hl7 && e.field ? { field: e.field } : {}), hl7Code } });
    const logLine = inboundLogLine(remote, { code, messageType: hdr.messageType, controlId: hdr.controlId, ...(hl7 && e.segment ? { segment: e.segment } : {}), ...(hl7 && e.field ? { field: e.field } : {}), hl7Code, ...(internal ? { internal } : {}) });
    return { ack, code, reason, logLine };
  }
}

export function startMllpListener(db: Kysely<DB>, opts: { host: string; port: number; log?: (m: string) => void }): Promise<MllpListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    const decoder = new FrameDecoder();
    const remote = `${sock.remoteAddress}:${sock.remotePort}`;
    let chain = Promise.resolve();
    sock.on('data', (chunk) => {
      let frames: string[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        // The decoder's errors are about framing (sizes), never content.
        opts.log?.(`MLLP ${remote}: ${(e as Error).message.slice(0, 120)}; connection closed`);
        sock.destroy();
        return;
      }
      // In order, one at a time per connection: ACKs go back in the order the messages came.
      for (const text of frames) {
        chain = chain.then(async () => {
          const r = await handleInbound(db, text, remote);
          if (r.code !== 'AA') opts.log?.(r.logLine);
          if (!sock.destroyed) sock.write(frame(r.ack));
        }).catch((e) => opts.log?.(`MLLP ${remote}: could not answer (${logToken(String((e as NodeJS.ErrnoException).code ?? (e as Error).name))})`));
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
