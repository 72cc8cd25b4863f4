/**
 * Live events on every gateway (issue 14 item 3): the pre-read's live feed (triage.live, which the SSE
 * stream /api/events follows) is mirrored across gateways through PostgreSQL LISTEN/NOTIFY
 * (gateway/db/notify.ts). Alerts raised, closed and acknowledged are data and travel as they are; a
 * triage change carries a per-role view computed on demand, so only its study UID travels and the
 * receiving gateway recomputes the view from the shared database (TriageService.notify).
 * The domain event bus (ctx.events) is deliberately NOT mirrored: its listeners write (triage
 * recompute, audit), and each change must be handled once, by the gateway where it happened.
 * SQLite: nothing to mirror (one process).
 */
import type { Store } from '../db/database.js';
import { bridgeEmitter, createNotifyBridge, type NotifyBridge } from '../db/notify.js';
import type { PrereadService } from '../preread/service.js';
import type { LiveTriage } from '../preread/triage.js';

export async function mirrorLiveEvents(store: Store, preread: PrereadService, log: (m: string) => void): Promise<{ bridge: NotifyBridge; close(): Promise<void> }> {
  const bridge = await createNotifyBridge(store, { log });
  const live = preread.triage.live;
  const offAlerts = bridgeEmitter(bridge, live, 'preread', ['alert', 'alert-closed', 'alert-ack'], log);
  let replaying = false;
  const onTriage = (e: LiveTriage) => {
    if (replaying) return; // our own re-emit of another gateway's change: not sent back
    bridge.publish('preread:triage', { studyUID: e.studyUID }).catch((err: Error) => log(`notify preread:triage: ${err.message}`));
  };
  live.on('triage', onTriage);
  const offRemote = bridge.subscribe('preread:triage', (p) => {
    const studyUID = (p as { studyUID?: unknown })?.studyUID;
    if (typeof studyUID !== 'string') return;
    replaying = true;
    try {
      preread.triage.notify(studyUID); // emits 'triage' synchronously to this gateway's streams
    } finally {
      replaying = false;
    }
  });
  return {
    bridge,
    async close() {
      offAlerts();
      offRemote();
      live.off('triage', onTriage);
      await bridge.close();
    },
  };
}
