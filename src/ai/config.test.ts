import { describe, expect, it } from 'vitest';
import { aiConfig, DEFAULT_LIMIT_MS } from './config';
import { statusText } from './status';

describe('AI config', () => {
  it('defaults to a 10 s limit, auto provider, no slow-down', () => {
    expect(aiConfig('', null)).toEqual({ limitMs: DEFAULT_LIMIT_MS, provider: undefined, allowFallbackAdapter: false, threads: undefined, slowMsPerSlice: 0, enabled: true });
    expect(DEFAULT_LIMIT_MS).toBe(10_000);
  });
  it('takes overrides from the query, then localStorage; ignores nonsense', () => {
    const store = { getItem: (k: string) => ({ 'rs.aiLimitMs': '4000', 'rs.aiThreads': '1' })[k] ?? null };
    const c = aiConfig('?aiLimitMs=2500&aiSlowMs=300&aiProvider=webgpu&aiFallbackAdapter=1', store);
    expect(c).toMatchObject({ limitMs: 2500, slowMsPerSlice: 300, provider: 'webgpu', allowFallbackAdapter: true, threads: 1 });
    expect(aiConfig('?aiLimitMs=-5&aiProvider=cuda&ai=0', null)).toMatchObject({ limitMs: DEFAULT_LIMIT_MS, provider: undefined, enabled: false });
  });
});

describe('AI status text', () => {
  const base = { studyUID: '1.2', done: 12, total: 28 };
  it('says what the reader needs to know', () => {
    expect(statusText({ ...base, state: 'running', provider: 'wasm', numThreads: 2 })).toBe('AI wasm×2 12/28');
    expect(statusText({ ...base, state: 'running', provider: 'webgpu' })).toBe('AI webgpu 12/28');
    expect(statusText({ ...base, state: 'unavailable' })).toBe('AI unavailable for this study, reading without AI');
    expect(statusText({ ...base, state: 'skipped', message: 'outside indication: age 9 < 18 (head-ct-hyperdensity)' })).toBe('AI not run: outside indication: age 9 < 18 (head-ct-hyperdensity)');
    expect(statusText({ ...base, state: 'error', message: 'model file missing' })).toBe('AI error: model file missing; reading continues without AI');
    expect(statusText({ ...base, state: 'done', provider: 'wasm', numThreads: 2, findings: 1, timings: { sessionMs: 50, perSliceMs: 31.6, totalMs: 1450.2 } })).toBe('AI wasm×2 28/28 · 1 finding · 32 ms/slice, 1450 ms');
  });
});
