/**
 * MLLP client: one message, one ACK. Connects, sends the framed message, waits for the first
 * complete frame back (or the timeout), and returns it. Interpreting the ACK is the caller's job.
 */
import net from 'node:net';
import { FrameDecoder, frame } from './framing.js';

export interface MllpTarget {
  host: string;
  port: number;
  /** ms to wait for connect + ACK */
  timeoutMs: number;
}

export class MllpError extends Error {
  constructor(message: string, readonly kind: 'connect' | 'timeout' | 'closed') {
    super(message);
  }
}

export function sendMllp(target: MllpTarget, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder();
    let done = false;
    const sock = net.createConnection({ host: target.host, port: target.port });
    const finish = (err: Error | null, ack?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(ack!);
    };
    const timer = setTimeout(() => finish(new MllpError(`no ACK from ${target.host}:${target.port} within ${target.timeoutMs} ms`, 'timeout')), target.timeoutMs);
    sock.on('connect', () => sock.write(frame(message)));
    sock.on('data', (chunk) => {
      try {
        const frames = decoder.push(chunk);
        if (frames.length) finish(null, frames[0]);
      } catch (e) {
        finish(e as Error);
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(new MllpError(`MLLP ${target.host}:${target.port}: ${e.code ?? e.message}`, 'connect')));
    sock.on('close', () => finish(new MllpError(`MLLP ${target.host}:${target.port} closed the connection before an ACK`, 'closed')));
  });
}
