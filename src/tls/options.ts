// The TLS settings a listener serves with: secure-context options with modern defaults (TLS 1.2+
// only, AEAD/ECDHE suites in server order, tickets on) and the server-level options (ALPN,
// handshake timeout). Which certificate goes in a context is the store's business.

import { constants } from 'node:crypto';
import type tls from 'node:tls';
import type { ListenTls } from '../config/types.ts';

/**
 * TLS 1.3 suites (OpenSSL's order) and TLS 1.2 suites: ECDHE key exchange and AEAD only
 * (Mozilla "intermediate" without DHE, which needs dhparams and is slow). Node applies the
 * `TLS_*` names as TLS 1.3 ciphersuites and the rest as the 1.2 list.
 */
export const DEFAULT_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Defaults of every TLS listener; not configurable in v1 except minVersion. */
export const TLS_DEFAULTS = {
  /** Seconds a TLS session (ticket or ID) may be resumed; Node's default, stated. */
  sessionTimeoutSec: 300,
  /** A client must finish its handshake within this; Node's own default (120 s) lets idle sockets pile up. */
  handshakeTimeoutMs: 10_000,
  maxVersion: 'TLSv1.3',
} as const;

/**
 * Client-initiated renegotiation (TLS 1.2) is a CPU-exhaustion lever and nothing here needs it;
 * compression is off for CRIME (OpenSSL's default already, stated).
 */
const SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_COMPRESSION;

/** PEM text of one certificate pair. */
export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/** What stays the same for every context of one listener. */
export interface ContextDefaults {
  readonly minVersion: ListenTls['minVersion'];
  /**
   * 48 bytes shared by every context of the listener, so a ticket stays valid when the
   * certificate rotates (setSecureContext would otherwise draw new keys and end every
   * resumable session) and whichever SNI context a handshake lands in.
   */
  readonly ticketKeys: Buffer;
}

/**
 * Options for `tls.createSecureContext` and `server.setSecureContext`: the pair plus the
 * listener's defaults. Always the complete set, because setSecureContext builds a fresh
 * context from exactly what it is given. Allocates one small object.
 */
export function secureContextOptions(pair: PemPair, defaults: ContextDefaults): tls.SecureContextOptions {
  return {
    cert: pair.certPem,
    key: pair.keyPem,
    minVersion: defaults.minVersion,
    maxVersion: TLS_DEFAULTS.maxVersion,
    ciphers: DEFAULT_CIPHERS,
    honorCipherOrder: true,
    secureOptions: SECURE_OPTIONS,
    sessionTimeout: TLS_DEFAULTS.sessionTimeoutSec,
    ticketKeys: defaults.ticketKeys,
  };
}

/** ALPN protocols offered, server preference first: `h2` only when HTTP/2 is on. */
export function alpnProtocols(http2: boolean): string[] {
  return http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
}

/**
 * Server-level options for `https.createServer` or `http2.createSecureServer` (which also
 * needs `allowHTTP1: true`, and sets ALPN itself from that). `SNICallback` picks per name.
 */
export function serverOptions(
  defaultPair: PemPair,
  defaults: ContextDefaults,
  http2: boolean,
  SNICallback: NonNullable<tls.TlsOptions['SNICallback']>,
): tls.TlsOptions {
  return {
    ...secureContextOptions(defaultPair, defaults),
    SNICallback,
    ALPNProtocols: alpnProtocols(http2),
    handshakeTimeout: TLS_DEFAULTS.handshakeTimeoutMs,
  };
}
