import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CIPHERS, TLS_DEFAULTS, alpnProtocols, secureContextOptions, serverOptions } from './options.ts';

const pair = { certPem: 'CERT', keyPem: 'KEY' };
const defaults = { minVersion: 'TLSv1.3', ticketKeys: Buffer.alloc(48, 1) } as const;

describe('TLS options', () => {
  it('ALPN offers h2 first only with HTTP/2 on', () => {
    expect(alpnProtocols(true)).toEqual(['h2', 'http/1.1']);
    expect(alpnProtocols(false)).toEqual(['http/1.1']);
  });

  it('context options carry the pair, the listener minVersion and the modern defaults', () => {
    const o = secureContextOptions(pair, defaults);
    expect(o).toMatchObject({ cert: 'CERT', key: 'KEY', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', honorCipherOrder: true, sessionTimeout: 300 });
    expect(o.ticketKeys).toBe(defaults.ticketKeys);
    expect(o.ciphers).toBe(DEFAULT_CIPHERS);
  });

  it('the cipher list is TLS 1.3 suites plus ECDHE AEAD suites only, and OpenSSL knows every one', () => {
    const names = DEFAULT_CIPHERS.split(':');
    for (const n of names) expect(n).toMatch(/^(TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)|ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305))$/);
    const known = new Set(tls.getCiphers().map((c) => c.toUpperCase()));
    for (const n of names) expect(known.has(n), n).toBe(true);
  });

  it('server options add SNI, ALPN and a handshake timeout', () => {
    const cb = (): void => {};
    const o = serverOptions(pair, defaults, false, cb);
    expect(o.SNICallback).toBe(cb);
    expect(o.ALPNProtocols).toEqual(['http/1.1']);
    expect(o.handshakeTimeout).toBe(TLS_DEFAULTS.handshakeTimeoutMs);
    expect(o.minVersion).toBe('TLSv1.3');
  });
});
