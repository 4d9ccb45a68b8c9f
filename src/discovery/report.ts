// How DNS discovery shows up in /status and /metrics: the JSON of one name and the Prometheus
// families, from DnsNameStats snapshots. It renders nothing else and escapes nothing itself:
// the admin module owns the exposition format and passes its writer and label renderer in.

import { DNS_FAILURE_KINDS, type DnsFailureKind } from './answer.ts';
import type { DnsNameState, DnsNameStats } from './dns-name.ts';

/** One DNS name in /status (`dns.names[]`). */
export interface DnsNameStatus {
  readonly name: string;
  readonly intervalMs: number;
  readonly state: DnsNameState;
  readonly addresses: readonly string[];
  readonly lookups: number;
  readonly changes: number;
  readonly failures: Readonly<Record<DnsFailureKind, number>>;
  /** ISO time of the last fully successful lookup; null if none yet. */
  readonly lastSuccessAt: string | null;
  readonly lastError: {
    readonly kind: DnsFailureKind;
    readonly code: string;
    readonly message: string;
    /** ISO time. */
    readonly at: string;
  } | null;
  /** Lowest TTL of the last good answer (s); reported only, lookups follow the interval. */
  readonly ttlSeconds: number | null;
}

/** The /status entry of one name. Pure. */
export function dnsNameStatus(s: DnsNameStats): DnsNameStatus {
  return {
    name: s.name,
    intervalMs: s.intervalMs,
    state: s.state,
    addresses: s.addresses,
    lookups: s.lookups,
    changes: s.changes,
    failures: s.failures,
    lastSuccessAt: s.lastSuccessAt === null ? null : new Date(s.lastSuccessAt).toISOString(),
    lastError: s.lastError === null ? null : { ...s.lastError, at: new Date(s.lastError.at).toISOString() },
    ttlSeconds: s.ttlSeconds,
  };
}

/** The part of the admin module's Prometheus writer this needs. */
export interface MetricsWriter {
  family(name: string, type: 'counter' | 'gauge', help: string): void;
  /** `labels` pre-rendered: `a="x",b="y"`. */
  sample(name: string, labels: string, value: number): void;
}

/**
 * Writes the `fairway_dns_*` families, one series per name (and per failure kind, zeros
 * included so rates work from the first failure). `label(key, value)` renders one escaped
 * label pair (`name="api.svc"`). Writes nothing when no name is watched. O(names × kinds).
 */
export function writeDnsMetrics(w: MetricsWriter, stats: readonly DnsNameStats[], label: (key: string, value: string) => string): void {
  if (stats.length === 0) return;
  const names = stats.map((s) => label('name', s.name));
  const each = (metric: string, type: 'counter' | 'gauge', help: string, value: (s: DnsNameStats) => number): void => {
    w.family(metric, type, help);
    for (let i = 0; i < stats.length; i++) w.sample(metric, names[i]!, value(stats[i]!));
  };
  each('fairway_dns_lookups_total', 'counter', 'DNS lookup rounds (one A and one AAAA query) per name.', (s) => s.lookups);
  w.family('fairway_dns_failures_total', 'counter', 'DNS lookup rounds that failed, fully or for one family, by kind; the last good addresses were kept.');
  for (let i = 0; i < stats.length; i++) {
    for (const kind of DNS_FAILURE_KINDS) w.sample('fairway_dns_failures_total', `${names[i]!},${label('kind', kind)}`, stats[i]!.failures[kind]);
  }
  each('fairway_dns_changes_total', 'counter', 'Times the address set of the name changed.', (s) => s.changes);
  each('fairway_dns_addresses', 'gauge', 'Addresses the name currently resolves to (each one upstream per entry using it).', (s) => s.addresses.length);
  each(
    'fairway_dns_last_success_time_seconds',
    'gauge',
    'Unix time of the last fully successful lookup of the name; 0 if it never resolved.',
    (s) => (s.lastSuccessAt === null ? 0 : s.lastSuccessAt / 1000),
  );
}
