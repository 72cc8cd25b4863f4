import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv } from './config.js';

describe('configuration from the environment', () => {
  it('defaults: loopback, the embedded SQLite store', () => {
    const c = configFromEnv({});
    expect([c.host, c.port, c.database, c.orthancUrl, c.sessionIdleMs, c.demo]).toEqual(['127.0.0.1', 8080, '.data/gateway.sqlite', 'http://127.0.0.1:8042', 30 * 60_000, false]);
  });

  it('takes valid values, PostgreSQL included; empty counts as unset where there is a default', () => {
    const c = configFromEnv({ GATEWAY_PORT: '0', DATABASE: 'postgres://rs:pw@db.internal:5432/reading', DEMO: 'true', SESSION_TTL_MS: '60000', PUBLIC_ORIGIN: 'https://reading.example.org', ORTHANC_URL: '' });
    expect([c.port, c.database, c.demo, c.sessionTtlMs, c.publicOrigin, c.orthancUrl]).toEqual([0, 'postgres://rs:pw@db.internal:5432/reading', true, 60000, 'https://reading.example.org', 'http://127.0.0.1:8042']);
  });

  it('names every bad variable, with its value and what it must be; secrets are not echoed', () => {
    let err: unknown;
    try {
      configFromEnv({ GATEWAY_PORT: '80a', ORTHANC_URL: 'localhost:8042', DATABASE: 'mysql://db/x', DEMO: 'yes', SESSION_TTL_MS: '-5', PUBLIC_ORIGIN: 'https://a.example/reading', AUDIT_KEY: 'sekrit-too-short' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toEqual([
      'GATEWAY_PORT="80a": must be a port 0-65535',
      'ORTHANC_URL="localhost:8042": must be an http:// or https:// URL',
      'DATABASE="mysql://db/x": must be a SQLite file path or a postgres:// URL (no other database is supported)',
      'DEMO="yes": must be one of 1, true, 0, false',
      'SESSION_TTL_MS="-5": must be a positive whole number of milliseconds',
      'PUBLIC_ORIGIN="https://a.example/reading": must be an origin only: scheme, host and port, no path',
      'AUDIT_KEY=(hidden): must be 64 hex characters, or at least 32 characters',
    ]);
    expect((err as Error).message).not.toContain('sekrit');
  });

  it('a port out of range and a broken postgres URL are refused', () => {
    expect(() => configFromEnv({ GATEWAY_PORT: '70000' })).toThrow(/GATEWAY_PORT="70000": must be a port 0-65535/);
    expect(() => configFromEnv({ DATABASE: 'postgres://[bad' })).toThrow(/DATABASE=.*must be a postgres:\/\/ URL that parses/);
  });

  it('TRUST_PROXY: off by default; addresses or CIDRs of the proxies; anything else is refused', () => {
    expect(configFromEnv({}).trustProxy).toBeUndefined();
    expect(configFromEnv({ TRUST_PROXY: '' }).trustProxy).toBeUndefined();
    expect(configFromEnv({ TRUST_PROXY: '127.0.0.1' }).trustProxy).toEqual(['127.0.0.1']);
    expect(configFromEnv({ TRUST_PROXY: '10.0.0.0/8, ::1' }).trustProxy).toEqual(['10.0.0.0/8', '::1']);
    for (const bad of ['true', '*', 'nginx', '300.1.1.1', '127.0.0.1,']) expect(() => configFromEnv({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY=.*must be comma-separated IP addresses or CIDRs/);
  });

  it('FHIR_URL: off when unset; an http(s) URL; anything else refused with a message naming it', () => {
    expect(configFromEnv({}).fhirUrl).toBeUndefined();
    expect(configFromEnv({ FHIR_URL: '' }).fhirUrl).toBeUndefined();
    expect(configFromEnv({ FHIR_URL: 'https://fhir.example.org/r4' }).fhirUrl).toBe('https://fhir.example.org/r4');
    expect(() => configFromEnv({ FHIR_URL: 'fhir.example.org/r4' })).toThrow(/FHIR_URL="fhir\.example\.org\/r4": must be an http:\/\/ or https:\/\/ URL/);
    expect(() => configFromEnv({ FHIR_URL: 'ftp://fhir.example.org/' })).toThrow(/FHIR_URL=.*must be an http:\/\/ or https:\/\/ URL/);
    let err: unknown;
    try {
      configFromEnv({ FHIR_URL: 'https://user:s3cret@fhir.example.org/r4' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^FHIR_URL=\(hidden\): must be an http:\/\/ or https:\/\/ URL without credentials/)]);
    expect((err as Error).message).not.toContain('s3cret');
  });
});
