// The request pipeline's loop, without a network: a scripted dispatcher per upstream plays
// undici's side (the handler callbacks in their real order) and a recording Downstream plays the
// client. Checks routing, the retry decisions, the one settle per try on every path, and what
// the client receives. Real sockets are test/*.test.ts.
import { PassThrough } from 'node:stream';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { createBalancer } from '../balancer/index.ts';
import { testConfig } from '../config/fixtures.testing.ts';
import type { ErrorCode } from '../core/errors.ts';
import { HealthState } from '../health/state.ts';
import { EventLog } from '../observability/events.ts';
import { silentLogger } from '../observability/log.ts';
import { Pool } from '../pool/pool.ts';
import { Upstream } from '../pool/upstream.ts';
import { seededRng } from '../util/rng.ts';
import type { ClientCloseListener, Downstream } from './downstream.ts';
import { serve, type HandlerContext } from './handler.ts';
import { compileRoute } from './route.ts';
import { Router } from './router.ts';

type Script = 'ok' | '503' | 'refused' | 'reset-before-head' | 'reset-mid-body' | 'hang' | 'error-after-head';

/**
 * Plays undici's side of one upstream: calls the handler as undici would, asynchronously. Each
 * dispatch follows the next entry of the shared `plan` (so a test need not know which upstream
 * the balancer picks first), else this upstream's own `script`.
 */
class ScriptedDispatcher {
  script: Script = 'ok';
  bodies: (string | null)[] = [];
  started = 0;
  aborted = 0;
  private readonly plan: Script[];
  constructor(plan: Script[]) {
    this.plan = plan;
  }

  dispatch(opts: Dispatcher.DispatchOptions, h: Dispatcher.DispatchHandler): boolean {
    const body = opts.body;
    this.bodies.push(Buffer.isBuffer(body) ? body.toString() : body === null || body === undefined ? null : '<stream>');
    const script = this.plan.shift() ?? this.script;
    const ctl = {
      aborted: false,
      paused: false,
      abort: (reason: Error) => {
        if (ctl.aborted) return;
        ctl.aborted = true;
        this.aborted++;
        queueMicrotask(() => h.onResponseError?.(ctl as never, reason));
      },
      pause: () => void (ctl.paused = true),
      resume: () => void (ctl.paused = false),
    };
    const c = ctl as unknown as Dispatcher.DispatchController;
    setImmediate(() => {
      if (script === 'refused') return h.onResponseError?.(c, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
      h.onRequestStart?.(c, {});
      this.started++;
      if (ctl.aborted) return;
      if (script === 'hang') return;
      if (script === 'reset-before-head') return h.onResponseError?.(c, Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
      const status = script === '503' ? 503 : 200;
      h.onResponseStart?.(c, status, { 'content-type': 'text/plain', connection: 'keep-alive' }, 'OK');
      h.onResponseData?.(c, Buffer.from(script === '503' ? 'busy' : 'hello'));
      if (script === 'error-after-head') return h.onResponseError?.(c, Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
      if (script === 'reset-mid-body') {
        setImmediate(() => h.onResponseError?.(c, Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
        return;
      }
      h.onResponseEnd?.(c, {});
    });
    return true;
  }
}

/** Records what the client would receive. */
class RecordingClient implements Downstream {
  method = 'GET';
  target = '/x';
  rawHeaders: string[] = ['Host', 'svc.test'];
  version = 11;
  clientAddress = '10.0.0.9';
  secure = false;
  head = null;
  body = new PassThrough();
  upgrade: string | null = null;
  hasBody: boolean | null = null;
  headSent = false;
  gone = false;
  status = 0;
  headers: string[] = [];
  chunks: string[] = [];
  ended = false;
  error: ErrorCode | null = null;
  aborted = false;
  listener: ClientCloseListener | null = null;
  readonly finished: Promise<void>;
  private done!: () => void;

  constructor() {
    this.finished = new Promise((r) => (this.done = r));
  }
  watch(l: ClientCloseListener): void {
    this.listener = l;
  }
  sendHead(status: number, headers: string[]): void {
    this.status = status;
    this.headers = headers;
    this.headSent = true;
  }
  sendChunk(chunk: Buffer): boolean {
    this.chunks.push(chunk.toString());
    return true;
  }
  whenDrained(): void {}
  sendEnd(): void {
    this.ended = true;
    this.done();
  }
  sendError(code: ErrorCode): void {
    this.error = code;
    this.headSent = true;
    this.done();
  }
  abort(): void {
    this.aborted = true;
    this.done();
  }
  tunnel(): void {
    throw new Error('no tunnels here');
  }
  /** The client goes away. */
  leave(): void {
    this.gone = true;
    this.listener?.onClientClose();
    this.done();
  }
}

function setup(n = 3, pool: Record<string, unknown> = {}) {
  const origins = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${6001 + i}`);
  const config = testConfig({
    pools: { web: { upstreams: origins, retry: { backoff: { base: 0, max: 0 } }, passive: { consecutiveFailures: 0 }, ...pool } },
  });
  const pc = config.pools.get('web')!;
  const plan: Script[] = [];
  const dispatchers = origins.map(() => new ScriptedDispatcher(plan));
  const upstreams = origins.map((o, i) => new Upstream(o, 1, dispatchers[i] as unknown as Dispatcher, 'web'));
  const clock = (): number => performance.now();
  const p = new Pool(pc, upstreams, createBalancer('round-robin', { rng: seededRng(3), decayMs: 10_000 }), clock);
  const log = silentLogger();
  const health = new HealthState({ log, clock, events: new EventLog(), currentPool: () => p, currentPools: () => [p] });
  const router = new Router(config.routes, (r) => compileRoute(r, p));
  const ctx: HandlerContext = {
    clock,
    rng: seededRng(4),
    log,
    health,
    isDraining: () => false,
    current: () => ({ router, maxBodyBytes: 0, edge: { maxHeaderCount: 100, maxUrlBytes: 8192 }, tracing: true, accessLog: null }),
  };
  return { ctx, pool: p, upstreams, dispatchers, plan };
}

/** Resolves once `done()` holds, checking after each turn of the event loop. */
function until(done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => (done() ? resolve() : void setImmediate(poll));
    poll();
  });
}

async function run(ctx: HandlerContext, client: RecordingClient): Promise<void> {
  await serve(ctx, client);
  await client.finished;
}

describe('serve(): the request loop', () => {
  it('routes, streams the response and settles the try once', async () => {
    const { ctx, upstreams, pool } = setup(1);
    const client = new RecordingClient();
    await run(ctx, client);
    expect(client.status).toBe(200);
    expect(client.chunks.join('')).toBe('hello');
    expect(client.ended).toBe(true);
    expect(client.headers).not.toContain('connection'); // hop-by-hop dropped
    const u = upstreams[0]!;
    expect(u.inflight).toBe(0);
    expect(u.requests).toBe(1);
    expect(u.responses[2]).toBe(1);
    expect(pool.counters.requests).toBe(1);
  });

  it('retries a 503 on another upstream and says so in x-fairway-retries', async () => {
    const { ctx, upstreams, dispatchers, plan } = setup(2);
    plan.push('503');
    const client = new RecordingClient();
    await run(ctx, client);
    expect(client.status).toBe(200);
    expect(client.chunks.join('')).toBe('hello');
    expect(client.headers.slice(-2)).toEqual(['x-fairway-retries', '503']);
    const [first, second] = upstreams[0]!.failures === 1 ? [0, 1] : [1, 0];
    expect(upstreams[first]!.failures).toBe(1);
    expect(upstreams[second]!.retries).toBe(1);
    expect(dispatchers[first]!.aborted).toBe(0); // the 503's body ran to its end: connection kept
    for (const u of upstreams) expect(u.inflight).toBe(0);
  });

  it('retries a POST whose connect was refused, sending the buffered body again', async () => {
    const { ctx, dispatchers, plan } = setup(2);
    plan.push('refused');
    const client = new RecordingClient();
    client.method = 'POST';
    client.rawHeaders = ['Host', 'svc.test', 'Content-Length', '4'];
    client.body.end('data');
    await run(ctx, client);
    expect(client.status).toBe(200);
    expect([...dispatchers[0]!.bodies, ...dispatchers[1]!.bodies]).toEqual(['data', 'data']);
  });

  it('never retries a POST the upstream may have seen', async () => {
    const { ctx, upstreams, dispatchers } = setup(2);
    for (const d of dispatchers) d.script = 'reset-before-head';
    const client = new RecordingClient();
    client.method = 'POST';
    await run(ctx, client);
    expect(client.error).toBe('upstream-reset');
    expect(upstreams[0]!.requests + upstreams[1]!.requests).toBe(1);
  });

  it('answers with the last failure once every try failed', async () => {
    const { ctx, upstreams, dispatchers } = setup(3);
    for (const d of dispatchers) d.script = 'refused';
    const client = new RecordingClient();
    await run(ctx, client);
    expect(client.error).toBe('connect-refused');
    expect(upstreams.map((u) => u.requests)).toEqual([1, 1, 1]);
    for (const u of upstreams) expect(u.inflight).toBe(0);
  });

  it('answers 503 no-upstream at once when nothing is selectable', async () => {
    const { ctx, pool, upstreams } = setup(2);
    for (const u of upstreams) u.flags = 1;
    pool.rebuild();
    const client = new RecordingClient();
    await run(ctx, client);
    expect(client.error).toBe('no-upstream');
    expect(pool.counters.noUpstream).toBe(1);
  });

  it('retries a failure that came with the head, before anything reached the client', async () => {
    const { ctx, upstreams, plan } = setup(2);
    plan.push('error-after-head');
    const client = new RecordingClient();
    await run(ctx, client);
    expect(client.status).toBe(200);
    expect(client.chunks.join('')).toBe('hello');
    expect(upstreams[0]!.failures + upstreams[1]!.failures).toBe(1);
    expect(upstreams[0]!.requests + upstreams[1]!.requests).toBe(2);
  });

  it('aborts the client when the upstream fails mid-body, and never retries', async () => {
    const { ctx, upstreams, dispatchers } = setup(2);
    for (const d of dispatchers) d.script = 'reset-mid-body';
    const client = new RecordingClient();
    await run(ctx, client);
    expect(client.status).toBe(200);
    expect(client.aborted).toBe(true);
    expect(client.ended).toBe(false);
    expect(upstreams[0]!.requests + upstreams[1]!.requests).toBe(1);
    expect(upstreams[0]!.failures + upstreams[1]!.failures).toBe(1);
  });

  it('settles a try whose client left as neutral: no failure, in-flight back to 0, upstream aborted', async () => {
    const { ctx, upstreams, dispatchers } = setup(1);
    dispatchers[0]!.script = 'hang';
    const client = new RecordingClient();
    const served = serve(ctx, client);
    const u = upstreams[0]!;
    await until(() => dispatchers[0]!.started === 1);
    client.leave();
    await served;
    expect(dispatchers[0]!.aborted).toBe(1);
    expect(u.inflight).toBe(0);
    expect(u.failures).toBe(0);
    expect(u.consecutiveFailures).toBe(0);
    expect(client.headSent).toBe(false);
  });

  it('a client that leaves before its try was even sent: the loop stops at once, undici\'s start is aborted', async () => {
    const { ctx, upstreams, dispatchers } = setup(1);
    const client = new RecordingClient();
    const served = serve(ctx, client);
    await until(() => upstreams[0]!.inflight === 1);
    client.leave();
    await served;
    expect(upstreams[0]!.inflight).toBe(0);
    expect(upstreams[0]!.failures).toBe(0);
    await until(() => dispatchers[0]!.aborted === 1);
    expect(client.headSent).toBe(false);
  });

  it('answers 400 without Host on HTTP/1.1 and 404 when no route matches, reaching no upstream', async () => {
    const { ctx, upstreams } = setup(1, {});
    const noHost = new RecordingClient();
    noHost.rawHeaders = [];
    await run(ctx, noHost);
    expect(noHost.error).toBe('bad-request');

    const { ctx: routed } = (() => {
      const s = setup(1);
      const only = { ...testConfig({ pools: { web: { upstreams: ['http://127.0.0.1:6001'] } } }).routes[0]!, host: 'only.test' };
      const router = new Router([only], (r) => compileRoute(r, s.pool));
      return { ctx: { ...s.ctx, current: () => ({ router, maxBodyBytes: 0, edge: { maxHeaderCount: 100, maxUrlBytes: 8192 }, tracing: true, accessLog: null }) } };
    })();
    const other = new RecordingClient();
    await run(routed, other);
    expect(other.error).toBe('no-route');
    expect(upstreams[0]!.requests).toBe(0);
  });
});
