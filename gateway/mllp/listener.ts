/**
 * Inbound MLLP listener for ADT and ORM/OMI orders. Every frame gets an ACK: AA when stored,
 * AE/AR with the reason when not (the message is kept in hl7_rejected_messages for an admin).
 * A bad frame never stops the listener. Message content is never logged (it carries patient data).
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

export interface MllpListener {
  port: number;
  close(): Promise<void>;
}

/** Handles one inbound message; returns the ACK text. Exported for tests of the rules without sockets. */
export async function handleInbound(db: Kysely<DB>, text: string, remote: string | null): Promise<{ ack: string; code: AckCode; reason?: string }> {
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
    return { ack: buildAck({ code: 'AA', controlId: msg.controlId, ackControlId: ackId, at, received: hdr }), code: 'AA' };
  } catch (e) {
    const hl7 = e instanceof Hl7Error;
    const reason = hl7 ? e.message : `internal error: ${(e as Error).message}`;
    // AR: we cannot or will not process this kind of message at all; AE: it is ours but its content is wrong.
    const code: AckCode = !hl7 ? 'AE' : /unsupported message type|must start with MSH|delimiters|batch/.test(reason) ? 'AR' : 'AE';
    await db
      .insertInto('hl7_rejected_messages')
      .values({ received_at: at.toISOString(), remote, control_id: hdr.controlId || null, ack_code: code, reason, raw: text.slice(0, 1_000_000) })
      .execute()
      .catch(() => {});
    const hl7Code = /unsupported message type/.test(reason) ? '200' : /missing|empty/.test(reason) ? '101' : /segment/.test(reason) ? '100' : '207';
    const ack = buildAck({ code, controlId: hdr.controlId ?? '', ackControlId: ackId, at, text: reason, received: hdr, error: { ...(hl7 && e.segment ? { segment: e.segment } : {}), ...(hl7 && e.field ? { field: e.field } : {}), hl7Code } });
    return { ack, code, reason };
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
        opts.log?.(`MLLP ${remote}: ${(e as Error).message}; connection closed`);
        sock.destroy();
        return;
      }
      // In order, one at a time per connection: ACKs go back in the order the messages came.
      for (const text of frames) {
        chain = chain.then(async () => {
          const r = await handleInbound(db, text, remote);
          if (r.code !== 'AA') opts.log?.(`MLLP ${remote}: ${r.code} ${r.reason}`);
          if (!sock.destroyed) sock.write(frame(r.ack));
        }).catch((e) => opts.log?.(`MLLP ${remote}: ${(e as Error).message}`));
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
