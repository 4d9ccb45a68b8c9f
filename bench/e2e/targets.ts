// What the load is pointed at: upstream processes, Fairway (one process per balancer), and the
// peers (nginx, HAProxy, http-proxy-3, @fastify/http-proxy) with generated configs. A missing
// peer is reported by `peerMissing` and skipped, never an error. Owns no measuring.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitHttpOk } from '../lib/http.ts';
import { startChild, type Child } from '../lib/procs.ts';

const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const REPO_DIR = path.dirname(BENCH_DIR);
const NODE = process.execPath;
const LISTENING = /listening on (http:\/\/\S+)/;

export const BALANCERS = ['round-robin', 'random', 'least-connections', 'ewma', 'consistent-hash'] as const;
export type BalancerName = (typeof BALANCERS)[number];
/** The header consistent-hash targets take their key from; the load sends it. */
export const BENCH_KEY_HEADER = 'x-bench-key';
/**
 * Peers, HAProxy first (the peers' baseline). undici-dispatch is the bare design floor, not a
 * product; relay is the floor of any Node L7 proxy (node:net + llhttp, no node:http, no undici).
 */
export const PEERS = ['haproxy', 'nginx', 'undici-dispatch', 'relay', 'http-proxy-3', 'fastify-http-proxy'] as const;
export type PeerName = (typeof PEERS)[number];

/** Something that serves HTTP on `url`, with the processes whose CPU counts as its cost. */
export interface Target {
  readonly name: string;
  readonly kind: 'direct' | 'fairway' | 'peer';
  readonly url: string;
  readonly pids: readonly number[];
  /** Fairway's admin server (GET /status), when there is one. */
  readonly adminUrl: string | null;
  stop(): Promise<void>;
}

export interface Upstream {
  readonly name: string;
  readonly url: string;
  readonly child: Child;
}

export interface UpstreamOptions {
  delayMs?: number;
  failRate?: number;
}

/** Starts bench/e2e/upstream.ts as a process. */
export async function startUpstream(name: string, opts: UpstreamOptions = {}): Promise<Upstream> {
  const args = [path.join(BENCH_DIR, 'e2e', 'upstream.ts'), '--name', name];
  if (opts.delayMs !== undefined) args.push('--delay-ms', String(opts.delayMs));
  if (opts.failRate !== undefined) args.push('--fail-rate', String(opts.failRate));
  const { child, match } = await startChild(`upstream ${name}`, NODE, { args, ready: LISTENING });
  return { name, url: match, child };
}

/** The baseline: the load goes straight to one upstream; its CPU is the upstream's. */
export function directTarget(up: Upstream): Target {
  return { name: 'direct', kind: 'direct', url: up.url, pids: [up.child.pid], adminUrl: null, stop: async () => {} };
}

export interface FairwayOptions {
  /** Extra node flags for the Fairway process, e.g. --cpu-prof. */
  nodeArgs?: readonly string[];
  /** Tree to run `bin/fairway.js` from (a `--baseline` export); default this checkout. */
  root?: string;
  /** Target name; default `fairway-<balancer>`. */
  name?: string;
  /** Extra environment (--variant). */
  env?: Readonly<Record<string, string>>;
  /** consistent-hash bounded loads as written in YAML ("125%", "off"); default 125%. */
  loadFactor?: string;
}

/**
 * Fairway in its sidecar form: `fairway --listen 127.0.0.1:0 --upstream … --balancer NAME --admin 127.0.0.1:0`;
 * consistent-hash from the same config as a file (its `hash:` has no flag for loadFactor), key
 * `header:x-bench-key`.
 */
export async function startFairway(balancer: BalancerName, ups: readonly Upstream[], opts: FairwayOptions = {}): Promise<Target> {
  const root = opts.root ?? REPO_DIR;
  const args = [...(opts.nodeArgs ?? []), path.join(root, 'bin', 'fairway.js')];
  let confDir: string | null = null;
  if (balancer === 'consistent-hash') {
    confDir = mkdtempSync(path.join(os.tmpdir(), 'fairway-bench-ch-'));
    const file = path.join(confDir, 'fairway.yaml');
    writeFileSync(file, consistentHashConfig(ups, opts.loadFactor ?? '125%'));
    args.push('--config', file);
  } else {
    args.push('--listen', '127.0.0.1:0', '--balancer', balancer, '--admin', '127.0.0.1:0');
    for (const u of ups) args.push('--upstream', u.url);
  }
  const name = opts.name ?? `fairway-${balancer}`;
  const cleanup = (): void => {
    if (confDir !== null) rmSync(confDir, { recursive: true, force: true });
  };
  let child: Child;
  try {
    ({ child } = await startChild(name, NODE, {
      args,
      cwd: root,
      env: { ...process.env, FAIRWAY_LOG_LEVEL: 'warn', ...opts.env },
      ready: /admin listening on (http:\/\/\S+)/,
      timeoutMs: 15_000,
    }));
  } catch (err) {
    cleanup();
    throw err;
  }
  // Both lines are printed before the admin line; read them back from the captured output.
  const out = child.tail();
  const url = /fairway listening on (http:\/\/\S+)/.exec(out)?.[1];
  const admin = /admin listening on (http:\/\/\S+)/.exec(out)?.[1];
  if (url === undefined || admin === undefined) {
    await child.stop('SIGKILL');
    cleanup();
    throw new Error(`${name}: no listening lines in its output:\n${out}`);
  }
  const stop = async (): Promise<void> => {
    await child.stop('SIGTERM', 5000);
    cleanup();
  };
  return { name, kind: 'fairway', url, pids: [child.pid], adminUrl: admin, stop };
}

/** The sidecar form's one-pool config, as a file, with a consistent-hash key on BENCH_KEY_HEADER. */
export function consistentHashConfig(ups: readonly Upstream[], loadFactor: string): string {
  return `# generated by bench/e2e/targets.ts
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
pools:
  default:
    balancer: consistent-hash
    hash:
      key: header:${BENCH_KEY_HEADER}
      loadFactor: ${loadFactor}
    upstreams:
${ups.map((u) => `      - ${u.url}`).join('\n')}
`;
}

/** Finds an executable on PATH or in the sbin directories (nginx and haproxy live in /usr/sbin). */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    if (d === '') continue;
    const p = path.join(d, name);
    if (existsSync(p)) return p;
  }
  return null;
}

function hasModule(name: string): boolean {
  try {
    createRequire(path.join(REPO_DIR, 'package.json')).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Why a peer cannot run here (a line for the report), or null when it can. */
export function peerMissing(peer: PeerName): string | null {
  switch (peer) {
    case 'nginx':
      return findBinary('nginx') === null ? 'nginx not found on PATH or in /usr/sbin (apt-get install -y nginx)' : null;
    case 'haproxy':
      return findBinary('haproxy') === null ? 'haproxy not found on PATH or in /usr/sbin (apt-get install -y haproxy)' : null;
    case 'undici-dispatch':
    case 'relay': // parses with undici's llhttp WASM build
      return hasModule('undici') ? null : 'undici is not installed (npm install)';
    case 'http-proxy-3':
      return hasModule('http-proxy-3') ? null : 'http-proxy-3 is not installed (npm install)';
    case 'fastify-http-proxy':
      return hasModule('fastify') && hasModule('@fastify/http-proxy') ? null : 'fastify / @fastify/http-proxy are not installed (npm install: they are devDependencies)';
  }
}

function hostPort(url: string): string {
  return new URL(url).host;
}

/** TLS for a peer's listener (bench/tls): certificate and key files, and both in one file for HAProxy. */
export interface PeerTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly pemFile: string;
}

/**
 * nginx: one worker (master_process off: the process we measure is the one that works), upstream keep-alive.
 * With `tls`: HTTPS with h2 by ALPN, TLS 1.2–1.3, session tickets and a session cache (its defaults).
 */
export function nginxConfig(dir: string, port: number, ups: readonly Upstream[], maxConns = 4096, tls: PeerTls | null = null): string {
  return `# generated by bench/e2e/targets.ts
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections ${maxConns}; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 60s;
  keepalive_requests 1000000;
  upstream pool {
${ups.map((u) => `    server ${hostPort(u.url)};`).join('\n')}
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port}${tls === null ? '' : ` ssl http2;\n    ssl_certificate ${tls.certFile};\n    ssl_certificate_key ${tls.keyFile};\n    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_cache shared:SSL:10m`};
    location / {
      proxy_pass http://pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** HAProxy: one thread, connection reuse always, round-robin. With `tls`: HTTPS with h2 by ALPN. */
export function haproxyConfig(port: number, ups: readonly Upstream[], maxConns = 4096, tls: PeerTls | null = null): string {
  return `# generated by bench/e2e/targets.ts
global
  nbthread 1
  maxconn ${maxConns}
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}${tls === null ? '' : ` ssl crt ${tls.pemFile} alpn h2,http/1.1`}
  default_backend be
backend be
  balance roundrobin
${ups.map((u) => `  server ${u.name} ${hostPort(u.url)}`).join('\n')}
`;
}

export interface PeerOptions {
  /** Extra node flags for a Node peer's process (e.g. --cpu-prof); ignored for nginx and HAProxy. */
  nodeArgs?: readonly string[];
  /** nginx worker_connections / HAProxy maxconn (default 4096). */
  maxConns?: number;
  /** Target name; default the peer's (--variant). */
  name?: string;
  /** Extra environment for a Node peer (--variant). */
  env?: Readonly<Record<string, string>>;
}

/** Starts one peer in front of `ups`; `dir` is a temp directory for generated configs. */
export async function startPeer(peer: PeerName, ups: readonly Upstream[], dir: string, opts: PeerOptions = {}): Promise<Target> {
  let child: Child;
  let url: string;
  if (peer === 'nginx' || peer === 'haproxy') {
    const port = await freePort();
    const bin = findBinary(peer)!;
    const conf = path.join(dir, `${peer}.conf`);
    if (peer === 'nginx') {
      writeFileSync(conf, nginxConfig(dir, port, ups, opts.maxConns));
      ({ child } = await startChild(peer, bin, { args: ['-c', conf, '-p', dir] }));
    } else {
      writeFileSync(conf, haproxyConfig(port, ups, opts.maxConns));
      ({ child } = await startChild(peer, bin, { args: ['-f', conf, '-db'] }));
    }
    url = `http://127.0.0.1:${port}`;
    try {
      await waitHttpOk(`${url}/`, 5000);
    } catch (err) {
      const tail = child.tail().trim();
      await child.stop('SIGKILL');
      throw new Error(`${peer}: ${(err as Error).message}${tail === '' ? '' : `\n${tail}`}`);
    }
  } else {
    const script = path.join(BENCH_DIR, 'e2e', 'peers', `${peer}.ts`);
    const started = await startChild(opts.name ?? peer, NODE, { args: [...(opts.nodeArgs ?? []), script, ...ups.map((u) => u.url)], env: { ...process.env, ...opts.env }, ready: LISTENING });
    child = started.child;
    url = started.match;
  }
  return { name: opts.name ?? peer, kind: 'peer', url, pids: [child.pid], adminUrl: null, stop: () => child.stop('SIGTERM', 3000) };
}
