/**
 * The one context every gateway capability (plugin) receives, as Orthanc hands its plugins one
 * context: the database, configuration, the domain event bus, the model registry, the Orthanc client
 * and the study facts. A capability gets what it needs
 * from here, never from a module-global lookup, so two gateways in one process (tests) never share state.
 */
import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { DB, Store } from './db/database.js';
import type { GatewayConfig } from './config.js';
import { createModelRegistry, type ModelRegistry } from './ai/registry.js';
import { orthancClient, type OrthancClient } from './orthanc/client.js';
import { orthancStudyFactsResolver } from './trust/study-facts.js';
import type { StudyFacts } from '../src/core/policy/study.js';

/**
 * Typed domain events. Everything derived from findings (triage, alerts, SSE, webhooks) is recomputed
 * from these, so a rejection, a sign-off, a study disable or a rollout change updates every view at once.
 * Emitted after the change is committed; listeners must not throw (errors are logged by the bus).
 */
export interface DomainEventMap {
  /**
   * Findings of a study were stored (any source) or superseded; 'after-signoff': output arrived for a
   * signed study and was kept apart from the signed record (the worklist shows it, the triage does not change).
   */
  'findings-changed': { studyUID: string; cause: 'ingest' | 'verdict' | 'undo' | 'after-signoff'; actor: string };
  /** A study was signed off. */
  'study-signed-off': { studyUID: string; actor: string };
  /** A reader opened a study for the first time: it is "in progress" on every worklist (gateway/report/opened.ts). */
  'study-opened': { studyUID: string; actor: string };
  /** AI was switched off or on for one study. */
  'study-ai-changed': { studyUID: string; disabled: boolean; actor: string; reason?: string };
  /** Something policy-wide changed: rollout mode of a model, disabled modalities, the role policy. */
  'policy-changed': { what: 'rollout' | 'modalities' | 'role-policy'; actor: string; model?: string };
}
export type DomainEvent = keyof DomainEventMap;

export class DomainEvents {
  private readonly em = new EventEmitter();
  constructor(private readonly log: (msg: string) => void = (m) => console.error(m)) {
    this.em.setMaxListeners(0);
  }
  emit<K extends DomainEvent>(type: K, e: DomainEventMap[K]): void {
    this.em.emit(type, e);
  }
  /** Listeners may be async; a rejection is logged, never an unhandled rejection. */
  on<K extends DomainEvent>(type: K, fn: (e: DomainEventMap[K]) => void | Promise<void>): () => void {
    const wrapped = (e: DomainEventMap[K]) => {
      try {
        const r = fn(e);
        if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch((err: Error) => this.log(`event ${type}: ${err.message}`));
      } catch (err) {
        this.log(`event ${type}: ${(err as Error).message}`);
      }
    };
    this.em.on(type, wrapped);
    return () => this.em.off(type, wrapped);
  }
}

export interface GatewayContext {
  store: Store;
  db: Kysely<DB>;
  config: GatewayConfig;
  events: DomainEvents;
  /** THE model registry (models/<name>/manifest.json): /api/models, the trust guard, ai-status and the pre-read all read it. */
  models: ModelRegistry;
  /** THE Orthanc client (base URL, credentials, DICOMweb root, timeouts) of all server code that is not the proxy. */
  orthanc: OrthancClient;
  /** THE study facts (src/core/study/facts.ts over Orthanc's metadata and the HL7 order), current on every call (kept while Orthanc's change log stands still; a deletion within 3 s: trust/study-facts.ts); null when unknown. */
  facts: (studyUID: string) => Promise<StudyFacts | null>;
}

export function createContext(store: Store, config: GatewayConfig): GatewayContext {
  const orthanc = orthancClient(config);
  return {
    store,
    db: store.db,
    config,
    events: new DomainEvents(),
    models: createModelRegistry(config.modelsDir, { watch: true, log: (m) => console.error(m) }),
    orthanc,
    // One resolver (and one series-metadata cache) per gateway: two gateways in one process share nothing.
    facts: orthancStudyFactsResolver(orthanc, store.db),
  };
}
