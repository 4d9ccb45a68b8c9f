import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { normalize } from './normalize.ts';
import { validateRaw } from './issues.ts';
import type { Config } from './types.ts';

function build(raw: Record<string, unknown>): Config {
  const result = validateRaw({ listen: ':8080', ...raw });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return normalize(result.config, null);
}

const upstreams = ['http://127.0.0.1:3001'];

describe('normalize', () => {
  it('fills every default, in ms and bytes', () => {
    const config = build({ pools: { api: { upstreams } } });
    expect(config.workers).toBe(1);
    expect(config.admin).toBeNull();
    expect(config.server).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 300_000,
      keepAliveTimeoutMs: 60_000,
      maxHeaderBytes: 16_384,
      maxBodyBytes: 0,
      maxHeaderCount: 100,
      maxUrlBytes: 8192,
    });
    expect(config.shutdown).toEqual({ drainTimeoutMs: 10_000 });
    expect(config.pools.get('api')).toEqual({
      name: 'api',
      balancer: 'round-robin',
      upstreams: [{ url: 'http://127.0.0.1:3001', origin: 'http://127.0.0.1:3001', weight: 1, scheme: 'http', hostname: '127.0.0.1', port: 3001, resolveMs: null }],
      healthCheck: null,
      passive: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
      retry: {
        attempts: 3,
        perTryTimeoutMs: 30_000,
        budgetPercent: 20,
        budgetMinPerSecond: 10,
        bufferBytes: 65_536,
        backoffBaseMs: 25,
        backoffMaxMs: 250,
      },
      timeouts: { connectMs: 5000, responseMs: 30_000, idleMs: 60_000, keepAliveMs: 4000 },
      maxConnectionsPerUpstream: 256,
      ewmaDecayMs: 10_000,
      hash: null,
      tls: null,
    });
  });

  it('fills health check defaults when the section is present', () => {
    const config = build({ pools: { api: { upstreams, healthCheck: {} } } });
    expect(config.pools.get('api')?.healthCheck).toEqual({
      path: '/health',
      intervalMs: 2000,
      timeoutMs: 1000,
      unhealthyThreshold: 3,
      healthyThreshold: 2,
      expectStatus: [[200, 399]],
      initialState: 'up',
    });
  });

  it('inherits pool timeouts from the top level key by key; perTryTimeout follows the pool response timeout', () => {
    const config = build({
      timeouts: { connect: '1s', response: '20s', idle: 0, keepAlive: '2s' },
      pools: {
        a: { upstreams, timeouts: { response: '3s' } },
        b: { upstreams: ['http://127.0.0.1:3002'], retry: { perTryTimeout: '750ms' } },
      },
      routes: [{ match: { host: 'a.example.com' }, pool: 'a' }, { pool: 'b' }],
    });
    expect(config.pools.get('a')?.timeouts).toEqual({ connectMs: 1000, responseMs: 3000, idleMs: 0, keepAliveMs: 2000 });
    expect(config.pools.get('a')?.retry.perTryTimeoutMs).toBe(3000);
    expect(config.pools.get('b')?.timeouts).toEqual({ connectMs: 1000, responseMs: 20_000, idleMs: 0, keepAliveMs: 2000 });
    expect(config.pools.get('b')?.retry.perTryTimeoutMs).toBe(750);
  });

  it('expands upstream shorthand and keeps weights', () => {
    const config = build({ pools: { api: { upstreams: ['http://127.0.0.1:3001/', { url: 'http://127.0.0.1:3002', weight: 0 }] } } });
    expect(config.pools.get('api')?.upstreams).toEqual([
      { url: 'http://127.0.0.1:3001', origin: 'http://127.0.0.1:3001', weight: 1, scheme: 'http', hostname: '127.0.0.1', port: 3001, resolveMs: null },
      { url: 'http://127.0.0.1:3002', origin: 'http://127.0.0.1:3002', weight: 0, scheme: 'http', hostname: '127.0.0.1', port: 3002, resolveMs: null },
    ]);
  });

  it('lower-cases route hosts, keeps a leading *. and fills nulls', () => {
    const config = build({
      pools: { api: { upstreams } },
      routes: [{ match: { host: '*.Example.COM', pathPrefix: '/V1' }, pool: 'api' }, { match: {}, pool: 'api' }],
    });
    expect(config.routes).toEqual([
      { host: '*.example.com', pathPrefix: '/V1', pool: 'api', rewritePathPrefix: null, requestHeaders: null, responseHeaders: null },
      { host: null, pathPrefix: null, pool: 'api', rewritePathPrefix: null, requestHeaders: null, responseHeaders: null },
    ]);
  });

  it('resolves workers: auto and the admin defaults', () => {
    const config = build({ workers: 'auto', admin: {}, pools: { api: { upstreams } } });
    expect(config.workers).toBe(availableParallelism());
    expect(config.admin).toEqual({ listen: { host: '127.0.0.1', port: 9901 }, token: null });
  });

  it('freezes everything, pools included', () => {
    const config = build({ pools: { api: { upstreams, healthCheck: {} } } });
    const pool = config.pools.get('api');
    for (const part of [config, config.listen, config.server, config.routes, pool, pool?.upstreams, pool?.upstreams[0], pool?.retry, pool?.healthCheck]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    const pools = config.pools as Map<string, unknown>;
    expect(() => pools.set('x', {})).toThrow('the config is frozen');
    expect(() => pools.delete('api')).toThrow('the config is frozen');
    expect(() => pools.clear()).toThrow('the config is frozen');
    expect(config.pools.size).toBe(1);
  });
});
