// Versions of what was compared (peer binaries and npm packages), for the report's header.
// Never throws; an unknown version is reported as missing.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { findBinary } from '../e2e/targets.ts';

function pkgVersion(repoDir: string, name: string): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(repoDir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

function binVersion(name: string, args: string[], re: RegExp): string | null {
  const bin = findBinary(name);
  if (bin === null) return null;
  try {
    // nginx -v writes to stderr; capture both.
    const out = execFileSync(bin, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
    return re.exec(out)?.[1] ?? null;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    return re.exec(`${e.stdout ?? ''}${e.stderr ?? ''}`)?.[1] ?? null;
  }
}

function nginxVersion(): string | null {
  const bin = findBinary('nginx');
  if (bin === null) return null;
  try {
    // `nginx -v` prints on stderr and exits 0.
    const r = execFileSync('sh', ['-c', `"${bin}" -v 2>&1`], { encoding: 'utf8', timeout: 5000 });
    return /nginx\/(\S+)/.exec(r)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** "nginx 1.22.1, haproxy 2.6.12, autocannon 9.0.0, …" with "absent" for what is missing. */
export function describeVersions(repoDir: string): string {
  const parts: [string, string | null][] = [
    ['nginx', nginxVersion()],
    ['haproxy', binVersion('haproxy', ['-v'], /version (\S+)/)],
    ['autocannon', pkgVersion(repoDir, 'autocannon')],
    ['undici', pkgVersion(repoDir, 'undici')],
    ['http-proxy-3', pkgVersion(repoDir, 'http-proxy-3')],
    ['fastify', pkgVersion(repoDir, 'fastify')],
    ['@fastify/http-proxy', pkgVersion(repoDir, '@fastify/http-proxy')],
    ['@fastify/reply-from', pkgVersion(repoDir, '@fastify/reply-from')],
  ];
  return parts.map(([n, v]) => `${n} ${v ?? 'absent'}`).join(', ');
}
