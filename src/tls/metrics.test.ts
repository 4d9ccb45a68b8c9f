import { describe, expect, it } from 'vitest';
import { tlsMetricFamilies } from './metrics.ts';
import type { CertificateStatus } from './store.ts';

const cert = (over: Partial<CertificateStatus>): CertificateStatus => ({
  certFile: '/c.crt',
  keyFile: '/c.key',
  names: ['a.test'],
  notAfter: '2030-01-01T00:00:00.000Z',
  notAfterMs: Date.parse('2030-01-01T00:00:00.000Z'),
  fingerprint256: 'AA',
  loadedAt: '2026-01-01T00:00:00.000Z',
  reloads: { ok: 2, failed: 1 },
  lastError: null,
  lastErrorAt: null,
  ...over,
});

describe('tlsMetricFamilies', () => {
  it('expiry, reloads by result and the reload-error gauge per listener and certificate', () => {
    const [expiry, reloads, errors] = tlsMetricFamilies([
      { listener: 'https://0.0.0.0:8443', status: () => [cert({}), cert({ certFile: '/d.crt', names: [], lastError: 'bad' })] },
    ]);
    expect(expiry!.name).toBe('fairway_tls_certificate_expiry_timestamp_seconds');
    expect(expiry!.samples).toEqual([
      { labels: [['listener', 'https://0.0.0.0:8443'], ['cert', '/c.crt'], ['name', 'a.test']], value: 1893456000 },
      { labels: [['listener', 'https://0.0.0.0:8443'], ['cert', '/d.crt'], ['name', '']], value: 1893456000 },
    ]);
    expect(reloads!.type).toBe('counter');
    expect(reloads!.samples.slice(0, 2).map((s) => [s.labels[3], s.value])).toEqual([
      [['result', 'ok'], 2],
      [['result', 'failed'], 1],
    ]);
    expect(errors!.samples.map((s) => s.value)).toEqual([0, 1]);
  });

  it('families are present, empty, without TLS listeners', () => {
    const fams = tlsMetricFamilies([]);
    expect(fams.map((f) => [f.name, f.samples.length])).toEqual([
      ['fairway_tls_certificate_expiry_timestamp_seconds', 0],
      ['fairway_tls_certificate_reloads_total', 0],
      ['fairway_tls_certificate_reload_error', 0],
    ]);
  });
});
