/** The AI status shown in the viewer's status area: one small external store, no framework. */
import { useSyncExternalStore } from 'react';
import type { Provider } from './protocol';

export type AiState = 'idle' | 'checking' | 'loading' | 'running' | 'done' | 'unavailable' | 'skipped' | 'error';

export interface AiStatus {
  state: AiState;
  studyUID: string | null;
  model?: { name: string; version: string };
  provider?: Provider;
  numThreads?: number;
  done: number;
  total: number;
  /** What to tell the reader (reason for skipped/unavailable/error). */
  message?: string;
  timings?: { sessionMs: number; perSliceMs: number; totalMs: number; phases?: Record<string, number> };
  findings?: number;
  /** Results arrived after the latency limit and are held until the reader asks for them. */
  lateReady?: boolean;
  /** skipped: whose verdict refused (the browser's eligibility check, or the server's ai-status). Same rule, same reason. */
  refusedBy?: 'browser' | 'server';
}

const IDLE: AiStatus = { state: 'idle', studyUID: null, done: 0, total: 0 };
let status: AiStatus = IDLE;
const listeners = new Set<() => void>();

export function getAiStatus(): AiStatus {
  return status;
}

export function setAiStatus(next: AiStatus | ((s: AiStatus) => AiStatus)): void {
  status = typeof next === 'function' ? next(status) : next;
  for (const l of listeners) l();
}

export function resetAiStatus(): void {
  setAiStatus(IDLE);
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useAiStatus(): AiStatus {
  return useSyncExternalStore(subscribe, getAiStatus, getAiStatus);
}

/** One line for the status area: "AI wasm 12/28", "AI unavailable for this study, reading without AI"... */
export function statusText(s: AiStatus): string {
  const who = s.provider ? `AI ${s.provider}${s.provider === 'wasm' && s.numThreads ? `×${s.numThreads}` : ''}` : 'AI';
  switch (s.state) {
    case 'idle':
      return '';
    case 'checking':
      return 'AI: checking indication…';
    case 'loading':
      return `AI: loading ${s.model?.name ?? 'model'}…`;
    case 'running':
      return `${who} ${s.done}/${s.total}`;
    case 'done':
      return `${who} ${s.total}/${s.total} · ${s.findings ?? 0} finding${s.findings === 1 ? '' : 's'} · ${Math.round(s.timings?.perSliceMs ?? 0)} ms/slice, ${Math.round(s.timings?.totalMs ?? 0)} ms`;
    case 'unavailable':
      return 'AI unavailable for this study, reading without AI';
    case 'skipped':
      return `AI not run: ${s.message ?? ''}`;
    case 'error':
      return `AI error: ${s.message ?? 'unknown'}; reading continues without AI`;
  }
}
