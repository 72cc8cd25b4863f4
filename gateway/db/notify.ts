/**
 * Live events across gateways: PostgreSQL LISTEN/NOTIFY. Each gateway holds one dedicated connection
 * (outside the pool) that LISTENs on one channel; publish() sends `pg_notify` through the pool. Every
 * gateway, the sender included, receives a notification; the sender's own is dropped (it already
 * handled the event locally), so a listener sees each event once whichever gateway it happened on.
 * Payloads are small JSON (ids and states, never PHI): PostgreSQL caps a notification at 8000 bytes.
 * SQLite (one process): publish is a no-op and subscribers never hear anything; local events are all there is.
 * Delivery is at most once and only to gateways connected at the time: a live view, not a queue (the
 * outbox is the queue). A listener that reconnects after a lost connection may have missed events, so
 * `onReconnect` lets the SSE side tell its clients to refetch.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { EventEmitter } from 'node:events';
import type { Store } from './database.js';

const CHANNEL = 'reading_station_events';
const MAX_PAYLOAD = 7900;

export interface NotifyBridge {
  /** This gateway's id in the notifications (to drop its own). */
  readonly origin: string;
  /** Sends `payload` to the other gateways' subscribers of `topic`. */
  publish(topic: string, payload: unknown): Promise<void>;
  /** Called with each payload published on `topic` by another gateway. Returns the unsubscribe. */
  subscribe(topic: string, fn: (payload: unknown) => void): () => void;
  /** Called after the listening connection was lost and re-established (events in between are lost). */
  onReconnect(fn: () => void): () => void;
  close(): Promise<void>;
}

export async function createNotifyBridge(store: Store, opts: { log?: (m: string) => void; reconnectMs?: number } = {}): Promise<NotifyBridge> {
  const origin = crypto.randomBytes(8).toString('hex');
  const subs = new Map<string, Set<(p: unknown) => void>>();
  const reconnects = new Set<() => void>();
  const log = opts.log ?? (() => {});
  const subscribe = (topic: string, fn: (p: unknown) => void) => {
    let set = subs.get(topic);
    if (!set) subs.set(topic, (set = new Set()));
    set.add(fn);
    return () => void set!.delete(fn);
  };
  const onReconnect = (fn: () => void) => {
    reconnects.add(fn);
    return () => void reconnects.delete(fn);
  };
  if (store.dialect !== 'postgres' || !store.url) {
    return { origin, publish: async () => {}, subscribe, onReconnect, close: async () => {} };
  }
  const pg = (await import('pg')).default;
  let client: InstanceType<typeof pg.Client> | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  const deliver = (raw: string | undefined) => {
    if (!raw) return;
    let msg: { o: string; t: string; p: unknown };
    try {
      msg = JSON.parse(raw) as typeof msg;
    } catch {
      return;
    }
    if (msg.o === origin) return;
    for (const fn of subs.get(msg.t) ?? []) {
      try {
        fn(msg.p);
      } catch (e) {
        log(`notify ${msg.t}: ${(e as Error).message}`);
      }
    }
  };
  const connect = async (again: boolean): Promise<void> => {
    const c = new pg.Client({ connectionString: store.url, keepAlive: true });
    c.on('notification', (n) => n.channel === CHANNEL && deliver(n.payload));
    c.on('error', () => {
      if (client !== c) return;
      client = null;
      c.end().catch(() => {});
      schedule();
    });
    c.on('end', () => {
      if (client !== c) return;
      client = null;
      schedule();
    });
    await c.connect();
    await c.query(`LISTEN ${CHANNEL}`);
    if (closed) {
      await c.end();
      return;
    }
    client = c;
    if (again) for (const fn of reconnects) fn();
  };
  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = null;
      connect(true).catch((e: Error) => {
        log(`notify: reconnect failed: ${e.message}`);
        schedule();
      });
    }, opts.reconnectMs ?? 1000);
  };
  await connect(false);
  return {
    origin,
    async publish(topic, payload) {
      const text = JSON.stringify({ o: origin, t: topic, p: payload });
      if (Buffer.byteLength(text) > MAX_PAYLOAD) throw new Error(`notify ${topic}: payload of ${Buffer.byteLength(text)} bytes is over PostgreSQL's notification limit (${MAX_PAYLOAD}); send ids, not content`);
      await sql`SELECT pg_notify(${CHANNEL}, ${text})`.execute(store.db);
    },
    subscribe,
    onReconnect,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      if (c) await c.end().catch(() => {});
    },
  };
}

/**
 * Mirrors plain-data events of a local EventEmitter to the other gateways and back: a local emit of one
 * of `events` is published; a remote one is emitted locally (and not published again). Use it for events
 * whose payload is data (alert raised / closed / acknowledged); an event carrying functions (a lazily
 * computed per-role view) should publish its ids instead and be recomputed by the receiver.
 */
export function bridgeEmitter(bridge: NotifyBridge, emitter: EventEmitter, topic: string, events: string[], log: (m: string) => void = () => {}): () => void {
  const fromRemote = new WeakSet<object>();
  const offs: (() => void)[] = [];
  for (const ev of events) {
    const local = (payload: unknown) => {
      if (payload && typeof payload === 'object' && fromRemote.has(payload)) return;
      bridge.publish(`${topic}:${ev}`, payload).catch((e: Error) => log(`notify ${topic}:${ev}: ${e.message}`));
    };
    emitter.on(ev, local);
    offs.push(() => emitter.off(ev, local));
    offs.push(
      bridge.subscribe(`${topic}:${ev}`, (payload) => {
        if (payload && typeof payload === 'object') fromRemote.add(payload);
        emitter.emit(ev, payload);
      }),
    );
  }
  return () => offs.forEach((off) => off());
}
