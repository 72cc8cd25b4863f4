/**
 * Where a benchmark's CPU went, read from Linux's /proc: the whole box's busy time (/proc/stat) and
 * each process's user + system time (/proc/<pid>/stat, threads included), grouped by what the process
 * is. Two snapshots bracket a window; `cpuBetween` turns them into cores used per group. A figure that
 * says "two gateways did not scale" is only meaningful next to "and the box had no idle core left".
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcTimes {
  comm: string;
  /** user + system, in clock ticks */
  ticks: number;
  /** of which in the kernel (system calls: sockets, files) */
  sys: number;
}

export interface CpuSnapshot {
  at: number;
  /** /proc/stat "cpu" line: all ticks, and idle + iowait ticks */
  total: number;
  idle: number;
  procs: Map<number, ProcTimes>;
}

let hz: number | undefined;
/** Clock ticks per second (USER_HZ), as `getconf CLK_TCK` says; 100 on every Linux seen. */
export function clockTicks(): number {
  if (hz === undefined) {
    try {
      hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      hz = 100;
    }
  }
  return hz;
}

/** One /proc/<pid>/stat line: the command name (in parentheses, may hold spaces) and utime + stime. */
export function parseProcStat(line: string): ProcTimes | null {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // After ")": field 3 (state) onwards; utime and stime are fields 14 and 15.
  const rest = line.slice(close + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { comm: line.slice(open + 1, close), ticks: utime + stime, sys: stime };
}

/** The "cpu" line of /proc/stat: all ticks and the idle ones (idle + iowait). */
export function parseStat(text: string): { total: number; idle: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no cpu line');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const total = v.slice(0, 8).reduce((s, x) => s + (Number.isFinite(x) ? x : 0), 0);
  return { total, idle: v[3] + (v[4] ?? 0) };
}

export function cpuSnapshot(): CpuSnapshot {
  const procs = new Map<number, ProcTimes>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const p = parseProcStat(fs.readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (p) procs.set(Number(name), p);
    } catch {
      // gone meanwhile
    }
  }
  return { at: Date.now(), ...parseStat(fs.readFileSync('/proc/stat', 'utf8')), procs };
}

export interface CpuUse {
  seconds: number;
  /** cores the box has, and cores busy on average over the window */
  cores: number;
  busyCores: number;
  /** cores used on average, per group */
  groups: Record<string, number>;
  /** of which in the kernel, per group */
  system: Record<string, number>;
}

/**
 * Cores used per group between two snapshots. A process seen only in the second counts whole (it
 * started in the window); one gone by then is not counted (its last ticks are lost: short-lived helper
 * processes, a small part). `group` names the process's group, or null to count it as "other".
 */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, cores: number, group: (pid: number, comm: string) => string | null, ticksPerS = clockTicks()): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const groups: Record<string, number> = {};
  const system: Record<string, number> = {};
  for (const [pid, p] of b.procs) {
    const before = a.procs.get(pid);
    // A pid reused by another command is a new process.
    const same = before && before.comm === p.comm;
    const d = same ? p.ticks - before.ticks : p.ticks;
    if (d <= 0) continue;
    const g = group(pid, p.comm) ?? 'other';
    groups[g] = (groups[g] ?? 0) + d / ticksPerS / seconds;
    system[g] = (system[g] ?? 0) + (same ? p.sys - before.sys : p.sys) / ticksPerS / seconds;
  }
  const dt = b.total - a.total;
  const busyCores = dt > 0 ? (cores * (dt - (b.idle - a.idle))) / dt : 0;
  return { seconds, cores, busyCores, groups, system };
}
