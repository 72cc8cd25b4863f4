import { describe, expect, it } from 'vitest';
import { cpuBetween, cpuSnapshot, parseProcStat, parseStat, type CpuSnapshot } from './cpu.js';

describe('CPU accounting from /proc', () => {
  it('reads a process line whose command name holds spaces and parentheses', () => {
    // Fields 14 and 15 (utime, stime) are 120 and 30.
    const line = '4242 (node (gw) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 120 30 0 0 20 0 11 0 5000 1000 100 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ comm: 'node (gw) 1', ticks: 150, sys: 30 });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('reads the box line of /proc/stat: idle counts iowait, guest time is not counted twice', () => {
    const s = parseStat('cpu  100 5 50 800 20 1 2 3 40 0\ncpu0 50 2 25 400 10 0 1 1 20 0\n');
    expect(s).toEqual({ total: 100 + 5 + 50 + 800 + 20 + 1 + 2 + 3, idle: 820 });
  });

  it('gives cores used per group over a window; a process born in it counts whole, a reused pid is a new process', () => {
    const a: CpuSnapshot = { at: 0, total: 0, idle: 0, procs: new Map([[10, { comm: 'node', ticks: 100, sys: 10 }], [20, { comm: 'postgres', ticks: 50, sys: 0 }], [30, { comm: 'Orthanc', ticks: 7, sys: 0 }]]) };
    const b: CpuSnapshot = {
      at: 2000,
      total: 400,
      idle: 100,
      procs: new Map([
        [10, { comm: 'node', ticks: 300, sys: 60 }], // +200 ticks = 2 s over 2 s: one core, of which +50 ticks in the kernel
        [20, { comm: 'postgres', ticks: 70, sys: 0 }], // +20
        [21, { comm: 'postgres', ticks: 30, sys: 0 }], // born in the window: whole
        [30, { comm: 'storescu', ticks: 4, sys: 0 }], // pid reused: a new process
      ]),
    };
    const use = cpuBetween(a, b, 2, (pid, comm) => (pid === 10 ? 'gateway' : comm === 'postgres' ? 'PostgreSQL' : null), 100);
    expect(use.seconds).toBe(2);
    expect(use.busyCores).toBeCloseTo(1.5, 6);
    expect(use.groups.gateway).toBeCloseTo(1, 6);
    expect(use.system.gateway).toBeCloseTo(0.25, 6);
    expect(use.groups.PostgreSQL).toBeCloseTo(0.25, 6);
    expect(use.groups.other).toBeCloseTo(0.02, 6);
  });

  it('reads this machine: this process is in the snapshot and the box is never more than fully busy', async () => {
    const a = cpuSnapshot();
    const t = Date.now();
    while (Date.now() - t < 200); // busy for 200 ms
    const b = cpuSnapshot();
    expect(b.procs.get(process.pid)?.ticks).toBeGreaterThan(a.procs.get(process.pid)?.ticks ?? Infinity);
    const use = cpuBetween(a, b, 1, (pid) => (pid === process.pid ? 'me' : null));
    expect(use.groups.me).toBeGreaterThan(0.3);
    expect(use.busyCores).toBeLessThanOrEqual(1.0001);
  });
});
