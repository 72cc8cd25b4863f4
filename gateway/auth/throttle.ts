/**
 * Log-in throttling per client IP: after `maxFailures` failed log-ins within `windowMs`, every
 * log-in from that IP is refused (429 with Retry-After) until the window has passed. Complements
 * the per-user lock-out: that stops guessing one password, this stops spraying many user names.
 * Successful log-ins are not counted (a ward sharing one NAT address is not throttled by normal use)
 * and do not reset the count either (an attacker with one valid account could otherwise interleave).
 */
export interface LoginThrottle {
  /** Seconds to wait, or 0 when this IP may try. */
  retryAfter(ip: string, now?: number): number;
  recordFailure(ip: string, now?: number): void;
}

export function createLoginThrottle(opts: { maxFailures: number; windowMs: number; maxTracked?: number }): LoginThrottle {
  const failures = new Map<string, number[]>();
  const maxTracked = opts.maxTracked ?? 10_000;
  const recent = (ip: string, now: number) => (failures.get(ip) ?? []).filter((t) => now - t < opts.windowMs);
  return {
    retryAfter(ip, now = Date.now()) {
      const r = recent(ip, now);
      if (r.length < opts.maxFailures) return 0;
      return Math.max(1, Math.ceil((r[0] + opts.windowMs - now) / 1000));
    },
    recordFailure(ip, now = Date.now()) {
      const r = recent(ip, now);
      r.push(now);
      failures.delete(ip);
      failures.set(ip, r);
      // Bounded memory under a distributed attack: forget the least recently failing addresses.
      while (failures.size > maxTracked) failures.delete(failures.keys().next().value as string);
    },
  };
}
