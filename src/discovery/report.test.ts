import { describe, expect, it } from 'vitest';
import type { DnsNameStats } from './dns-name.ts';
import { dnsNameStatus, writeDnsMetrics, type MetricsWriter } from './report.ts';

const zero = { timeout: 0, servfail: 0, nxdomain: 0, refused: 0, empty: 0, unreachable: 0, other: 0 };

const resolved: DnsNameStats = {
  name: 'api.test',
  intervalMs: 10_000,
  state: 'failing',
  addresses: ['127.0.0.2', '127.0.0.3'],
  lookups: 7,
  failures: { ...zero, servfail: 2 },
  changes: 3,
  lastSuccessAt: Date.UTC(2026, 11, 1, 12, 0, 0),
  lastError: { kind: 'servfail', code: 'ESERVFAIL', message: 'queryA ESERVFAIL api.test', at: Date.UTC(2026, 11, 1, 12, 0, 10) },
  ttlSeconds: 30,
};
const never: DnsNameStats = {
  ...resolved,
  name: 'new"name',
  state: 'failing',
  addresses: [],
  lookups: 1,
  failures: { ...zero, nxdomain: 1 },
  changes: 0,
  lastSuccessAt: null,
  lastError: null,
  ttlSeconds: null,
};

/** A writer that keeps `name{labels} value` lines and the families in order. */
function textWriter(): MetricsWriter & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    family: (name, type) => void lines.push(`# ${name} ${type}`),
    sample: (name, labels, value) => void lines.push(`${name}{${labels}} ${value}`),
  };
}
const label = (k: string, v: string): string => `${k}="${v.replace(/"/g, '\\"')}"`;

describe('dnsNameStatus', () => {
  it('gives ISO times and keeps the rest', () => {
    expect(dnsNameStatus(resolved)).toEqual({
      name: 'api.test',
      intervalMs: 10_000,
      state: 'failing',
      addresses: ['127.0.0.2', '127.0.0.3'],
      lookups: 7,
      changes: 3,
      failures: { ...zero, servfail: 2 },
      lastSuccessAt: '2026-12-01T12:00:00.000Z',
      lastError: { kind: 'servfail', code: 'ESERVFAIL', message: 'queryA ESERVFAIL api.test', at: '2026-12-01T12:00:10.000Z' },
      ttlSeconds: 30,
    });
    expect(dnsNameStatus(never)).toMatchObject({ lastSuccessAt: null, lastError: null, addresses: [] });
  });
});

describe('writeDnsMetrics', () => {
  it('writes every family with one series per name, every failure kind included', () => {
    const w = textWriter();
    writeDnsMetrics(w, [resolved, never], label);
    expect(w.lines.filter((l) => l.startsWith('#'))).toEqual([
      '# fairway_dns_lookups_total counter',
      '# fairway_dns_failures_total counter',
      '# fairway_dns_changes_total counter',
      '# fairway_dns_addresses gauge',
      '# fairway_dns_last_success_time_seconds gauge',
    ]);
    expect(w.lines).toContain('fairway_dns_lookups_total{name="api.test"} 7');
    expect(w.lines).toContain('fairway_dns_failures_total{name="api.test",kind="servfail"} 2');
    expect(w.lines).toContain('fairway_dns_failures_total{name="new\\"name",kind="nxdomain"} 1');
    expect(w.lines.filter((l) => l.startsWith('fairway_dns_failures_total'))).toHaveLength(14);
    expect(w.lines).toContain('fairway_dns_addresses{name="api.test"} 2');
    expect(w.lines).toContain('fairway_dns_addresses{name="new\\"name"} 0');
    expect(w.lines).toContain(`fairway_dns_last_success_time_seconds{name="api.test"} ${Date.UTC(2026, 11, 1, 12) / 1000}`);
    expect(w.lines).toContain('fairway_dns_last_success_time_seconds{name="new\\"name"} 0');
  });

  it('writes nothing without names', () => {
    const w = textWriter();
    writeDnsMetrics(w, [], label);
    expect(w.lines).toEqual([]);
  });
});
