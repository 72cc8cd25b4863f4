/**
 * `npm run scale`: the scale profile. PostgreSQL (a cluster of our own, scripts/lib/postgres.ts), Orthanc
 * with its index in that PostgreSQL (Debian's orthanc-postgresql), two gateways on loopback sharing the
 * gateway database, and nginx (Debian) in front as the TLS-terminating reverse proxy (self-signed
 * certificate, openssl) balancing over both. The gateways believe X-Forwarded-For only from nginx
 * (TRUST_PROXY=127.0.0.1); nginx replaces whatever X-Forwarded-For a client sent with the address the
 * connection came from, so a forged header never becomes the address the log-in throttle counts.
 * Everything lives in a temporary directory and goes when stopped: this is a profile to try and test
 * the multi-gateway setup, not a production installation. The two-command demo (`npm start`) is unchanged.
 *
 * startScale() is exported for test/scale.int.test.ts; run as a script it also loads the demo studies
 * and prints the URL and the demo log-ins; Ctrl-C stops everything.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, POSTGRESQL_INDEX_PLUGIN, startOrthanc, uploadFiles, type OrthancHandle } from './lib/orthanc.js';
import { startPostgres, type PgCluster } from './lib/postgres.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/** Debian packages the profile needs beyond scripts/ensure-deps.sh: installed when missing. */
const PACKAGES = ['postgresql', 'orthanc', 'orthanc-dicomweb', 'orthanc-postgresql', 'nginx', 'openssl'];

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** apt-get installs what is missing (any nginx flavour with the ssl and upstream modules will do). */
export function ensureScalePackages(log: (m: string) => void = console.log): void {
  // Any nginx flavour will do when /usr/sbin/nginx is already there.
  const missing = PACKAGES.filter((p) => !(p === 'nginx' && fs.existsSync(NGINX_BIN)) && !(p === 'orthanc-postgresql' && fs.existsSync(POSTGRESQL_INDEX_PLUGIN)) && !installed(p));
  if (!missing.length) return;
  log(`[scale] installing Debian packages: ${missing.join(' ')}`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, ...args];
    execFileSync(cmd, rest, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  run(['apt-get', 'update', '-q']);
  run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing]);
}

export interface ScaleOptions {
  /** The HTTPS port nginx listens on (127.0.0.1); default a free one. */
  httpsPort?: number;
  /** Where Orthanc's files, nginx's config and the certificate go; default a new temporary directory, removed by stop(). */
  dataDir?: string;
  /** Extra environment for both gateways (e.g. LOG=0). */
  gatewayEnv?: Record<string, string>;
  /** Extra Node options for the gateways (e.g. --cpu-prof, which NODE_OPTIONS may not carry). */
  gatewayNodeArgs?: string[];
  /** How many gateways behind nginx (default 2). */
  gateways?: number;
  /**
   * 'sqlite' (bench:scale's baseline only): the gateway database is a SQLite file and Orthanc keeps its
   * default index, no PostgreSQL at all; meant for one gateway (SQLite has one writer process).
   */
  store?: 'postgres' | 'sqlite';
  log?: (m: string) => void;
}

export interface ScaleHandle {
  /** https://127.0.0.1:<port> (nginx) */
  url: string;
  httpsPort: number;
  /** The gateways' own loopback addresses (http), behind nginx, and their process ids (the fail-over bench kills one). */
  gateways: { url: string; port: number; pid: number }[];
  /** The self-signed certificate nginx presents (PEM). */
  certificate: string;
  orthanc: OrthancHandle;
  /** The PostgreSQL cluster (absent with store 'sqlite'). */
  pg?: PgCluster;
  /** postgres:// URL of the gateways' database (a file path with store 'sqlite') */
  databaseUrl: string;
  /** The audit key both gateways use (hex): what opening their database from another process needs. */
  auditKey: string;
  stop(): Promise<void>;
}

function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  fs.chmodSync(key, 0o600);
  return { cert, key };
}

function nginxConfig(dir: string, httpsPort: number, upstreams: number[], tls: { cert: string; key: string }): string {
  const tmp = path.join(dir, 'tmp');
  return `# Written by scripts/scale.ts: TLS termination and load balancing in front of the gateways.
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  client_max_body_size 60m;
  server_tokens off;
  upstream gateways {
${upstreams.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${httpsPort} ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      # The client's address as nginx saw it, replacing (not appending to) whatever the client sent.
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      # The live feed is server-sent events: pass each event on as it comes.
      proxy_buffering off;
      proxy_read_timeout 1h;
      # Which gateway answered (a loopback address:port, nothing secret): load balancing is visible.
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`;
}

async function waitFor(what: string, ms: number, ok: () => Promise<boolean>, failed: () => string | null): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const why = failed();
    if (why) throw new Error(`${what}: ${why}`);
    if (await ok().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export interface GatewayProcess {
  proc: ChildProcess;
  pid: number;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Why it exited, once it has (null while it runs). */
  exited(): string | null;
  /** SIGTERM (a clean close), SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts `gateway/main.ts` as a process of its own (the way a deployment runs it), on a free loopback
 * port, and waits for it to say it listens (main.ts reports its port over the IPC channel). `env` is
 * added to this process's environment; LOG=0 and no MLLP listener unless given. Used by the scale
 * profile, the fail-over tests (test/failover.int.test.ts, which kill -9 one) and bench:scale.
 */
export async function spawnGateway(opts: { name: string; env: Record<string, string>; readyMs?: number; nodeArgs?: string[] }): Promise<GatewayProcess> {
  const gw = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', path.join(REPO_ROOT, 'gateway', 'main.ts')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0', MLLP_PORT: '', LOG: process.env.LOG ?? '0', ...opts.env },
  });
  let exit: string | null = null;
  gw.on('exit', (code, sig) => (exit = `${opts.name} exited (${code ?? sig})`));
  let port = 0;
  gw.on('message', (m: { ready?: boolean; port?: number }) => {
    if (m.ready && m.port) port = m.port;
  });
  try {
    await waitFor(opts.name, opts.readyMs ?? 90_000, async () => port > 0, () => exit);
  } catch (e) {
    gw.kill('SIGKILL');
    throw e;
  }
  return {
    proc: gw,
    pid: gw.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    exited: () => exit,
    async stop() {
      if (gw.exitCode !== null || gw.signalCode !== null) return;
      const done = new Promise<void>((r) => gw.once('exit', () => r()));
      gw.kill('SIGTERM');
      const t = setTimeout(() => gw.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
}

export async function startScale(opts: ScaleOptions = {}): Promise<ScaleHandle> {
  const log = opts.log ?? (() => {});
  ensureScalePackages(log);
  const ownDir = !opts.dataDir;
  const dir = path.resolve(opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rs-scale-')));
  fs.mkdirSync(dir, { recursive: true });
  const children: ChildProcess[] = [];
  let pg: PgCluster | undefined;
  let orthanc: OrthancHandle | undefined;
  const stop = async () => {
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const done = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    }
    await orthanc?.stop().catch(() => {});
    await pg?.stop().catch(() => {});
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const sqlite = opts.store === 'sqlite';
    let databaseUrl = path.join(dir, 'gateway.sqlite');
    let postgresIndex: { host: string; port: number; database: string; username: string } | undefined;
    if (!sqlite) {
      log('[scale] starting PostgreSQL');
      pg = await startPostgres({ log });
      const orthancDb = 'orthanc_index';
      await pg.createDatabase(orthancDb);
      databaseUrl = await pg.createDatabase('gateway');
      postgresIndex = { host: '127.0.0.1', port: pg.port, database: orthancDb, username: 'postgres' };
    }

    log(`[scale] starting Orthanc (index in ${sqlite ? 'SQLite' : 'PostgreSQL'})`);
    orthanc = await startOrthanc({ dataDir: path.join(dir, 'orthanc'), quiet: true, ...(postgresIndex ? { postgresIndex } : {}) });

    // One audit key for both gateways (they append to one trail); kept beside the rest, 0600.
    const auditKey = crypto.randomBytes(32).toString('hex');
    const gateways: ScaleHandle['gateways'] = [];
    const httpsPort = opts.httpsPort ?? (await freePort());
    const staticDir = path.join(REPO_ROOT, 'dist');
    for (let n = 1; n <= (opts.gateways ?? 2); n++) {
      // One after the other: the first runs the migrations, the second finds them done.
      const gw = await spawnGateway({
        name: `gateway ${n}`,
        nodeArgs: opts.gatewayNodeArgs,
        env: {
          DEMO: '1',
          ORTHANC_URL: orthanc.url,
          ORTHANC_USER: orthanc.user,
          ORTHANC_PASSWORD: orthanc.password,
          ORTHANC_DICOM_PORT: String(orthanc.dicomPort),
          DATABASE: databaseUrl,
          AUDIT_KEY: auditKey,
          STATIC_DIR: fs.existsSync(path.join(staticDir, 'index.html')) ? staticDir : '',
          SECURE_COOKIES: '1',
          PUBLIC_ORIGIN: `https://127.0.0.1:${httpsPort}`,
          TRUST_PROXY: '127.0.0.1',
          ...opts.gatewayEnv,
        },
      });
      children.push(gw.proc);
      gateways.push({ url: gw.url, port: gw.port, pid: gw.pid });
      log(`[scale] gateway ${n} on 127.0.0.1:${gw.port}`);
    }

    log('[scale] starting nginx');
    const nginxDir = path.join(dir, 'nginx');
    fs.mkdirSync(path.join(nginxDir, 'tmp'), { recursive: true });
    // nginx's workers run as an unprivileged user when started as root: they must reach the temp paths.
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(nginxDir, 0o755);
    fs.chmodSync(path.join(nginxDir, 'tmp'), 0o777);
    const tls = selfSignedCertificate(nginxDir);
    const conf = path.join(nginxDir, 'nginx.conf');
    fs.writeFileSync(conf, nginxConfig(nginxDir, httpsPort, gateways.map((g) => g.port), tls));
    const nginx = spawn(NGINX_BIN, ['-e', path.join(nginxDir, 'error.log'), '-p', nginxDir, '-c', conf], { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(nginx);
    let nginxExit: string | null = null;
    nginx.on('exit', (code, sig) => (nginxExit = `nginx exited (${code ?? sig}); see ${path.join(nginxDir, 'error.log')}: ${(() => { try { return fs.readFileSync(path.join(nginxDir, 'error.log'), 'utf8').slice(-500); } catch { return ''; } })()}`));
    const net = await import('node:net');
    await waitFor('nginx', 20_000, () => new Promise<boolean>((resolve) => {
      const s = net.connect(httpsPort, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    }), () => nginxExit);

    return { url: `https://127.0.0.1:${httpsPort}`, httpsPort, gateways, certificate: fs.readFileSync(tls.cert, 'utf8'), orthanc, pg, databaseUrl, auditKey, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function main() {
  const handle = await startScale({ httpsPort: process.env.SCALE_PORT ? Number(process.env.SCALE_PORT) : 8443, log: console.log }).catch((e: Error) => {
    console.error(`[scale] ${e.message}`);
    process.exit(1);
  });
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\n[scale] stopping…');
    await handle.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll());
  process.on('SIGTERM', () => void stopAll());

  console.log('[scale] loading demo studies');
  const { prepareDemoFiles } = await import('./lib/demo-studies.js');
  const files = await prepareDemoFiles(path.join(REPO_ROOT, '.data', 'demo-files'));
  const results = await uploadFiles(handle.orthanc, files);
  console.log(`[scale] ${results.filter((r) => r.status === 'Success' || r.status === 'AlreadyStored').length} demo instances stored in Orthanc (new or already there)`);
  const { DEMO_USERS, ROLE_LABELS } = await import('../src/core/auth/roles.js');
  console.log(`
  Reading station (scale profile) is running:  ${handle.url}/
  (self-signed certificate: your browser will ask you to accept it)

  Demo log-ins (demo mode only):
${DEMO_USERS.map((u) => `    ${u.username.padEnd(6)} / ${u.password.padEnd(10)}  ${ROLE_LABELS[u.role]}`).join('\n')}

  nginx (TLS) -> gateways ${handle.gateways.map((g) => g.url).join(', ')} (X-Forwarded-For believed from 127.0.0.1 only)
  Gateway database: ${handle.databaseUrl}; Orthanc ${handle.orthanc.url} with its index in PostgreSQL (127.0.0.1:${handle.pg!.port})
  Everything runs from a temporary directory and is removed on stop.
  Press Ctrl-C to stop everything.
`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
