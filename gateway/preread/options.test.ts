import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { prereadOptionsFromEnv } from './service.js';
import { LEASE_MS } from './queue.js';

const log = () => {};

describe('pre-read options from the environment', () => {
  it('defaults: a worker per core, the 30 s job lease', () => {
    const o = prereadOptionsFromEnv({}, log);
    expect(o.workers).toBe(os.availableParallelism());
    expect(o.leaseMs).toBe(LEASE_MS);
  });

  it('PREREAD_LEASE_MS sets the job lease; under 3 s (a few renewals) or not a number is refused by name', () => {
    expect(prereadOptionsFromEnv({ PREREAD_LEASE_MS: '5000' }, log).leaseMs).toBe(5000);
    expect(() => prereadOptionsFromEnv({ PREREAD_LEASE_MS: '1000' }, log)).toThrow(/PREREAD_LEASE_MS must be at least 3000/);
    expect(() => prereadOptionsFromEnv({ PREREAD_LEASE_MS: 'soon' }, log)).toThrow(/PREREAD_LEASE_MS/);
  });
});
