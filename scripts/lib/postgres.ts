/**
 * A throw-away PostgreSQL cluster of our own, for tests and benchmarks: Debian's `postgresql` binaries
 * (scripts/ensure-deps.sh installs them), `initdb` into a temp directory, `pg_ctl` on a free loopback
 * port with its unix socket in that directory. Nothing system-wide is touched: no service, no
 * /var/lib/postgresql cluster. initdb refuses to run as root (CI runs as root), so there the server runs
 * as the unprivileged `postgres` user (created by the Debian package), else `nobody`, via `runuser`.
 * Authentication is `trust`, which is acceptable only because the cluster listens on 127.0.0.1 and
 * lives as long as the test run.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface PgCluster {
  /** Port on 127.0.0.1 */
  port: number;
  dataDir: string;
  /** postgres:// URL of a database in this cluster (default: the `postgres` maintenance database). */
  url(database?: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The directory with initdb/pg_ctl: $PG_BIN, else the newest /usr/lib/postgresql/<v>/bin, else $PATH. */
export function findPgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(root, versions[0], 'bin');
  }
  const r = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return path.dirname(r.stdout.trim());
  throw new Error("PostgreSQL server binaries not found (initdb): install Debian's `postgresql` (bash scripts/ensure-deps.sh does), or set PG_BIN");
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Runs as the current user, or as an unprivileged one when we are root (initdb and postgres refuse root). */
function runAs(): { user: string; uid: number; gid: number } | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  for (const user of ['postgres', 'nobody']) {
    const r = spawnSync('id', ['-u', user], { encoding: 'utf8' });
    if (r.status === 0) {
      const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
      return { user, uid: Number(r.stdout.trim()), gid };
    }
  }
  throw new Error('running as root and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as');
}

function run(bin: string, args: string[], as: ReturnType<typeof runAs>, opts: { timeout?: number } = {}): string {
  const [cmd, argv] = as ? ['runuser', ['-u', as.user, '--', bin, ...args]] : [bin, args];
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeout ?? 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${path.basename(bin)} failed: ${(err.stderr || err.stdout || err.message).trim().slice(0, 2000)}`);
  }
}

const live = new Set<PgCluster>();
let exitHookInstalled = false;

/**
 * Starts a fresh cluster. Tuned for tests (fsync off: a crash of the machine loses the test database,
 * which is thrown away anyway). Stopped by `stop()`, and at the latest when this process exits.
 */
export async function startPostgres(opts: { log?: (m: string) => void } = {}): Promise<PgCluster> {
  const bin = findPgBin();
  const as = runAs();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-pg-'));
  const dataDir = path.join(base, 'data');
  const logFile = path.join(base, 'server.log');
  if (as) {
    // mkdtemp gives 0700 root-owned: hand the directory to the server's user.
    fs.chownSync(base, as.uid, as.gid);
  }
  run(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], as, { timeout: 120_000 });
  let port = 0;
  let lastErr: Error | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    port = await freePort();
    const serverOpts = [
      `-p ${port}`,
      `-k ${base}`,
      "-c listen_addresses='127.0.0.1'",
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
      '-c shared_buffers=32MB',
    ].join(' ');
    try {
      run(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOpts, 'start'], as, { timeout: 90_000 });
      lastErr = null;
      break;
    } catch (e) {
      lastErr = e as Error; // most likely the port was taken between freePort() and the bind
    }
  }
  if (lastErr) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
    fs.rmSync(base, { recursive: true, force: true });
    throw new Error(`could not start PostgreSQL: ${lastErr.message}\n${log}`);
  }
  opts.log?.(`postgres: cluster in ${dataDir} on 127.0.0.1:${port}`);
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    live.delete(cluster);
    const [cmd, argv] = as ? ['runuser', ['-u', as.user, '--', path.join(bin, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop']] : [path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']];
    spawnSync(cmd, argv, { stdio: 'ignore', timeout: 30_000 });
    fs.rmSync(base, { recursive: true, force: true });
  };
  let counter = 0;
  const cluster: PgCluster = {
    port,
    dataDir,
    url,
    async createDatabase(name) {
      const db = name ?? `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(db)) throw new Error(`database name ${JSON.stringify(db)}: lower-case letters, digits and _ only`);
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${db}`);
      } finally {
        await client.end();
      }
      return url(db);
    },
    async stop() {
      stopSync();
    },
  };
  live.add(cluster);
  // A watchdog outside this process: when it dies without stopping the cluster (kill -9, a killed test
  // run), the cluster is stopped and its directory removed within a few seconds.
  const stopCmd = `${as ? `runuser -u ${as.user} -- ` : ''}'${path.join(bin, 'pg_ctl')}' -D '${dataDir}' -m immediate -w stop`;
  const watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null && [ -d '${dataDir}' ]; do sleep 2; done; [ -d '${dataDir}' ] && { ${stopCmd}; rm -rf '${base}'; }; true`], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of [...live]) void c.stop();
    });
  }
  return cluster;
}

/** One cluster per process, started on first use (for code paths without a vitest global setup). */
let shared: Promise<PgCluster> | null = null;
export function sharedPostgres(): Promise<PgCluster> {
  shared ??= startPostgres();
  return shared;
}
