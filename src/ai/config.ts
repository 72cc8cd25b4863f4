/** AI settings for this page: defaults, overridable by query parameter or localStorage (tests, benchmarks, admins). */
import type { Provider } from './protocol';

export interface AiConfig {
  /** Results not ready this long after the study opened: "AI unavailable for this study". */
  limitMs: number;
  provider?: Provider;
  allowFallbackAdapter: boolean;
  threads?: number;
  /** Test hook: an artificially slow model. */
  slowMsPerSlice: number;
  enabled: boolean;
}

export const DEFAULT_LIMIT_MS = 10_000;

export function aiConfig(search = typeof location !== 'undefined' ? location.search : '', store: Pick<Storage, 'getItem'> | null = typeof localStorage !== 'undefined' ? localStorage : null): AiConfig {
  const q = new URLSearchParams(search);
  const get = (k: string) => q.get(k) ?? store?.getItem(`rs.${k}`) ?? null;
  const num = (k: string) => {
    const v = get(k);
    const n = v === null ? NaN : Number(v);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  const p = get('aiProvider');
  return {
    limitMs: num('aiLimitMs') ?? DEFAULT_LIMIT_MS,
    provider: p === 'wasm' || p === 'webgpu' ? p : undefined,
    allowFallbackAdapter: get('aiFallbackAdapter') === '1',
    threads: num('aiThreads'),
    slowMsPerSlice: num('aiSlowMs') ?? 0,
    enabled: get('ai') !== '0',
  };
}
