// The TLS figures the admin server shows: /metrics families the exposition writer renders
// (certificate expiry, reloads by result, whether the files on disk failed to load) and the shape
// of a TLS listener in /status. Read at scrape time from the stores' status(); nothing here runs
// per handshake. No text formatting.

import type { CertificateStatus } from './store.ts';

/** One metric family: name, type, help, and samples with their label pairs in order (admin/metrics.ts ExtraFamily). */
export interface TlsMetricFamily {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  readonly samples: readonly { readonly labels: readonly (readonly [string, string])[]; readonly value: number }[];
}

/** One TLS listener in /status: what it serves and how its certificates fare. */
export interface TlsListenerStatus {
  /** The listener's URL (`https://host:port`). */
  readonly listener: string;
  /** Whether h2 is offered by ALPN next to http/1.1. */
  readonly http2: boolean;
  readonly minVersion: string;
  /** Open HTTP/2 sessions; null without http2. */
  readonly http2Sessions: number | null;
  /** In config order; the first is the default (no SNI, or no name matches). */
  readonly certificates: readonly CertificateStatus[];
}

/** A listener's certificates as a scrape reads them (what CertificateStore provides). */
export interface TlsMetricsSource {
  readonly listener: string;
  status(): readonly CertificateStatus[];
}

/**
 * Families, each present (possibly empty) whatever the stores hold:
 * - `fairway_tls_certificate_expiry_timestamp_seconds` gauge: the served leaf's notAfter, Unix s;
 * - `fairway_tls_certificate_reloads_total` counter, `result` ok | failed;
 * - `fairway_tls_certificate_reload_error` gauge: 1 while the files on disk failed to load and an
 *   older certificate is served, else 0.
 * Labels: `listener`, `cert` (the cert file path), `name` (its first DNS name or '').
 * O(certificates).
 */
export function tlsMetricFamilies(stores: readonly TlsMetricsSource[]): TlsMetricFamily[] {
  const expiry: TlsMetricFamily['samples'][number][] = [];
  const reloads: TlsMetricFamily['samples'][number][] = [];
  const errors: TlsMetricFamily['samples'][number][] = [];
  for (const store of stores) {
    for (const c of store.status()) {
      const labels: [string, string][] = [
        ['listener', store.listener],
        ['cert', c.certFile],
        ['name', c.names[0] ?? ''],
      ];
      expiry.push({ labels, value: c.notAfterMs / 1000 });
      reloads.push({ labels: [...labels, ['result', 'ok']], value: c.reloads.ok });
      reloads.push({ labels: [...labels, ['result', 'failed']], value: c.reloads.failed });
      errors.push({ labels, value: c.lastError === null ? 0 : 1 });
    }
  }
  return [
    { name: 'fairway_tls_certificate_expiry_timestamp_seconds', type: 'gauge', help: 'notAfter of the served TLS certificate, as Unix time.', samples: expiry },
    {
      name: 'fairway_tls_certificate_reloads_total',
      type: 'counter',
      help: 'Certificate reloads after start: ok = new contents served, failed = invalid files, the current certificate stayed.',
      samples: reloads,
    },
    {
      name: 'fairway_tls_certificate_reload_error',
      type: 'gauge',
      help: '1 while the certificate files on disk failed to load and the previous certificate is served.',
      samples: errors,
    },
  ];
}
