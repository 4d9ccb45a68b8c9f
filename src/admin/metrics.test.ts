// The Prometheus exposition: parsed back with a strict text-format parser (grammar, HELP/TYPE
// for every family, grouping, cumulative histograms ending in +Inf = _count), label escaping,
// and that the numbers come straight from the Pool/Upstream counters.

import { describe, expect, it } from 'vitest';
import { UpstreamFlag } from '../pool/upstream.ts';
import { makePool, settleTry } from './fixtures.testing.ts';
import { EventLoopMonitor, escapeLabelValue, formatValue, renderMetrics, type MetricsSource } from './metrics.ts';
import { parsePromText } from './prom-text.testing.ts';

function source(now = 100_000): { src: MetricsSource; pools: ReturnType<typeof makePool>[] } {
  const clock = (): number => now;
  const api = makePool('api', ['http://127.0.0.1:4001', 'http://127.0.0.1:4002'], clock, 'ewma');
  const web = makePool('web', ['http://[::1]:4003'], clock);
  const src: MetricsSource = {
    clock,
    draining: false,
    startedAt: 1_700_000_000_000,
    current: { pools: new Map([['api', api], ['web', web]]) },
  };
  return { src, pools: [api, web] };
}

describe('renderMetrics', () => {
  it('is valid exposition text with HELP and TYPE for every family', () => {
    const { src, pools } = source();
    const [api] = pools;
    settleTry(api!, api!.upstreams[0]!, 200, 3, 100_000);
    settleTry(api!, api!.upstreams[0]!, 503, 40, 100_000);
    settleTry(api!, api!.upstreams[1]!, 0, 1500, 100_000);
    const text = renderMetrics(src, {
      openConnections: [{ listener: 'http://127.0.0.1:8080', count: 3 }],
      tunnels: 1,
      eventLoop: { meanSec: 0.01, p50Sec: 0.01, p99Sec: 0.02, maxSec: 0.03 },
      version: '1.2.3',
    });
    const m = parsePromText(text);
    for (const name of [
      'fairway_info',
      'fairway_draining',
      'fairway_open_connections',
      'fairway_pool_requests_total',
      'fairway_pool_retries_total',
      'fairway_pool_retry_budget_exhausted_total',
      'fairway_pool_no_upstream_total',
      'fairway_upstream_requests_total',
      'fairway_upstream_failures_total',
      'fairway_upstream_retries_total',
      'fairway_upstream_inflight',
      'fairway_upstream_up',
      'fairway_upstream_state',
      'fairway_upstream_ejections_total',
      'fairway_upstream_ewma_seconds',
      'fairway_upstream_response_seconds',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(m.families.has(name), name).toBe(true);
    }
    expect(m.value('fairway_info', { version: '1.2.3' })).toBe(1);
    // The share of the last minute: api's first upstream had 2 of its 3 tries; web had none.
    expect(m.value('fairway_upstream_traffic_share', { pool: 'api', upstream: 'http://127.0.0.1:4001' })).toBe(0.6667);
    expect(m.value('fairway_upstream_traffic_share', { pool: 'api', upstream: 'http://127.0.0.1:4002' })).toBe(0.3333);
    expect(text).not.toContain('fairway_upstream_traffic_share{pool="web"');
    expect(m.value('fairway_open_connections', { listener: 'http://127.0.0.1:8080' })).toBe(3);
  });

  it('reads the counters of every upstream, by status class', () => {
    const { src, pools } = source();
    const api = pools[0]!;
    const [a, b] = api.upstreams as [typeof api.upstreams[0], typeof api.upstreams[0]];
    for (let i = 0; i < 7; i++) settleTry(api, a!, 200, 2, 100_000);
    settleTry(api, a!, 404, 2, 100_000);
    settleTry(api, a!, 503, 2, 100_000);
    settleTry(api, b!, 0, 2, 100_000);
    a!.retries = 2;
    api.counters.requests = 10;
    api.counters.retries = 1;
    api.counters.noUpstream = 4;
    api.counters.budgetExhausted = 5;
    a!.inflight = 2;
    const m = parsePromText(renderMetrics(src));
    const A = { pool: 'api', upstream: 'http://127.0.0.1:4001' };
    const B = { pool: 'api', upstream: 'http://127.0.0.1:4002' };
    expect(m.value('fairway_upstream_requests_total', { ...A, code_class: '2xx' })).toBe(7);
    expect(m.value('fairway_upstream_requests_total', { ...A, code_class: '4xx' })).toBe(1);
    expect(m.value('fairway_upstream_requests_total', { ...A, code_class: '5xx' })).toBe(1);
    expect(m.value('fairway_upstream_requests_total', { ...A, code_class: 'error' })).toBe(0);
    expect(m.value('fairway_upstream_requests_total', { ...B, code_class: 'error' })).toBe(1);
    expect(m.samples('fairway_upstream_requests_total', A)).toHaveLength(6);
    expect(m.value('fairway_upstream_failures_total', A)).toBe(1);
    expect(m.value('fairway_upstream_failures_total', B)).toBe(1);
    expect(m.value('fairway_upstream_retries_total', A)).toBe(2);
    expect(m.value('fairway_upstream_inflight', A)).toBe(2);
    expect(m.value('fairway_pool_requests_total', { pool: 'api' })).toBe(10);
    expect(m.value('fairway_pool_retries_total', { pool: 'api' })).toBe(1);
    expect(m.value('fairway_pool_no_upstream_total', { pool: 'api' })).toBe(4);
    expect(m.value('fairway_pool_retry_budget_exhausted_total', { pool: 'api' })).toBe(5);
    expect(m.value('fairway_pool_selectable_upstreams', { pool: 'api' })).toBe(2);
    // Histogram: 9 samples of 2 ms on A, all in le=0.0025 and above.
    expect(m.value('fairway_upstream_response_seconds_count', A)).toBe(9);
    expect(m.value('fairway_upstream_response_seconds_bucket', { ...A, le: '0.001' })).toBe(0);
    expect(m.value('fairway_upstream_response_seconds_bucket', { ...A, le: '0.0025' })).toBe(9);
    expect(m.value('fairway_upstream_response_seconds_bucket', { ...A, le: '+Inf' })).toBe(9);
    expect(m.value('fairway_upstream_response_seconds_sum', A)).toBeCloseTo(0.018, 9);
    // The decayed EWMA estimate in seconds, for every pool; 0 = not measured (web had no tries).
    expect(m.value('fairway_upstream_ewma_seconds', A)).toBeGreaterThan(0);
    const web = m.samples('fairway_upstream_ewma_seconds', { pool: 'web' });
    expect(web.length).toBeGreaterThan(0);
    expect(web.map((x) => x.value)).toEqual(web.map(() => 0));
  });

  it('writes health state as up/state gauges, and the last check when there is one', () => {
    const { src, pools } = source();
    const api = pools[0]!;
    const a = api.upstreams[0]!;
    const b = api.upstreams[1]!;
    a.flags |= UpstreamFlag.Ejected;
    a.ejections = 2;
    b.flags |= UpstreamFlag.DownActive;
    b.lastCheck = { ok: false, at: 1_700_000_100_000, status: 500, error: null, latencyMs: 12 };
    api.rebuild();
    const m = parsePromText(renderMetrics(src));
    const A = { pool: 'api', upstream: 'http://127.0.0.1:4001' };
    const B = { pool: 'api', upstream: 'http://127.0.0.1:4002' };
    expect(m.value('fairway_upstream_up', A)).toBe(0);
    expect(m.value('fairway_upstream_state', { ...A, state: 'ejected' })).toBe(1);
    expect(m.value('fairway_upstream_state', { ...A, state: 'up' })).toBe(0);
    expect(m.value('fairway_upstream_state', { ...B, state: 'down' })).toBe(1);
    expect(m.value('fairway_upstream_ejections_total', A)).toBe(2);
    expect(m.value('fairway_upstream_health_check_up', B)).toBe(0);
    expect(m.value('fairway_upstream_health_check_duration_seconds', B)).toBeCloseTo(0.012, 9);
    expect(m.value('fairway_upstream_health_check_up', A)).toBeUndefined();
    expect(m.value('fairway_pool_selectable_upstreams', { pool: 'api' })).toBe(0);
    expect(m.value('fairway_upstream_up', { pool: 'web', upstream: 'http://[::1]:4003' })).toBe(1);
  });

  it('escapes label values and never repeats a series', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const { src, pools } = source();
    const web = pools[1]!;
    // An origin with odd characters still yields valid text; the same object listed twice is written once.
    const odd = web.upstreams[0]!;
    Object.defineProperty(odd, 'origin', { value: 'http://we"ird\\host\n:1' });
    (web as { upstreams: unknown }).upstreams = [odd, odd];
    const m = parsePromText(renderMetrics(src));
    expect(m.value('fairway_upstream_inflight', { pool: 'web', upstream: 'http://we"ird\\host\n:1' })).toBe(0);
  });

  it('removes user:password@ from upstream labels', () => {
    const { src, pools } = source();
    Object.defineProperty(pools[1]!.upstreams[0]!, 'origin', { value: 'http://user:secret@10.0.0.1:80' });
    const text = renderMetrics(src);
    expect(text).not.toContain('secret');
    expect(parsePromText(text).value('fairway_upstream_inflight', { pool: 'web', upstream: 'http://10.0.0.1:80' })).toBe(0);
  });

  it('formats special values as Prometheus expects', () => {
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(Number.NaN)).toBe('NaN');
    expect(formatValue(1e21)).toBe('1e+21');
    expect(parsePromText('# HELP x h\n# TYPE x gauge\nx 1e+21\n').value('x')).toBe(1e21);
  });

  it('can leave out process metrics; an empty runtime still parses', () => {
    const src: MetricsSource = { clock: () => 0, draining: true, startedAt: 0, current: { pools: new Map() } };
    const text = renderMetrics(src, { process: false });
    const m = parsePromText(text);
    expect(m.value('fairway_draining')).toBe(1);
    expect(m.families.has('process_cpu_seconds_total')).toBe(false);
  });
});

describe('renderMetrics: families built elsewhere (TLS certificates, HTTP/2)', () => {
  it('writes them as given, label values escaped, empty families with HELP and TYPE only', () => {
    const { src } = source();
    const text = renderMetrics(src, {
      process: false,
      families: [
        { name: 'fairway_tls_certificate_expiry_timestamp_seconds', type: 'gauge', help: 'notAfter.', samples: [{ labels: [['listener', 'https://127.0.0.1:8443'], ['cert', '/etc/tls/"a".crt']], value: 1_800_000_000 }] },
        { name: 'fairway_http2_sessions', type: 'gauge', help: 'Open sessions.', samples: [] },
      ],
    });
    const m = parsePromText(text);
    const expiry = m.families.get('fairway_tls_certificate_expiry_timestamp_seconds')!;
    expect(expiry.type).toBe('gauge');
    expect(expiry.samples).toEqual([{ name: 'fairway_tls_certificate_expiry_timestamp_seconds', labels: { listener: 'https://127.0.0.1:8443', cert: '/etc/tls/"a".crt' }, value: 1_800_000_000 }]);
    expect(text).toContain('cert="/etc/tls/\\"a\\".crt"');
    expect(m.families.get('fairway_http2_sessions')!.samples).toEqual([]);
  });
});

describe('parsePromText (the test parser itself)', () => {
  it.each([
    ['a sample without TYPE', '# HELP x h\nx 1\n'],
    ['a family without HELP', '# TYPE x gauge\nx 1\n'],
    ['a bad value', '# HELP x h\n# TYPE x gauge\nx one\n'],
    ['an unescaped quote', '# HELP x h\n# TYPE x gauge\nx{a="b"c"} 1\n'],
    ['a split family', '# HELP x h\n# TYPE x gauge\nx{a="1"} 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a="2"} 1\n'],
    ['a repeated series', '# HELP x h\n# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ['non-cumulative buckets', '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['a missing +Inf', '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf != count', '# HELP h h\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'],
    ['no final newline', '# HELP x h\n# TYPE x gauge\nx 1'],
  ])('rejects %s', (_name, text) => {
    expect(() => parsePromText(text)).toThrow();
  });
});

describe('EventLoopMonitor', () => {
  it('reads null before it has samples, and stops cleanly', () => {
    const mon = new EventLoopMonitor();
    expect(mon.read()).toBeNull();
    mon.start();
    mon.start();
    mon.stop();
    mon.stop();
  });
});
