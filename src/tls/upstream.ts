// TLS towards https:// upstreams, per pool: the files of `pools.*.tls` read and checked once per
// config generation (cached by the config object), turned into the `connect` options undici passes
// to tls.connect (traffic pool and health-probe pool alike), and the warning for verify: false.
// It does not create dispatchers; the pool registry and the health checker do, with these options.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { UpstreamTlsConfig } from '../config/types.ts';
import { CertificateError, CertificateField, parseCertificatePair, parseCertificates, readTextSync } from './certificate.ts';

/** A pool's TLS settings with the files' contents, checked. Immutable; one per config generation. */
export interface UpstreamTlsMaterial {
  readonly config: UpstreamTlsConfig;
  /** PEM bundle of trusted CAs (replaces the system's), or null for the system's. */
  readonly ca: string | null;
  /** Client certificate chain and key for mutual TLS, or null. */
  readonly cert: string | null;
  readonly key: string | null;
  /**
   * Changes exactly when anything that shapes a TLS connection changes (file contents,
   * servername, verify): part of the key that decides whether an upstream needs a new
   * connection pool on reload.
   */
  readonly fingerprint: string;
}

/** The `connect` fields for undici (`new Pool(origin, { connect: { timeout, ...these } })`). */
export interface UpstreamConnectTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** SNI and the name the certificate must carry; absent for an IP upstream without `servername`. */
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

/**
 * Reads and checks a pool's TLS files: the CA bundle holds at least one parseable certificate;
 * the client certificate and key parse and match. Throws CertificateError whose `field` (`ca`,
 * `cert` or `key`) names the `pools.*.tls` key at fault. Synchronous, like the config build it
 * is part of: at most three small files.
 */
export function loadUpstreamTls(config: UpstreamTlsConfig): UpstreamTlsMaterial {
  let ca: string | null = null;
  if (config.caFile !== null) {
    ca = readTextSync(config.caFile, CertificateField.Ca);
    parseCertificates(ca, config.caFile, CertificateField.Ca);
  }
  let cert: string | null = null;
  let key: string | null = null;
  if (config.certFile !== null || config.keyFile !== null) {
    if (config.certFile === null || config.keyFile === null) {
      const missing = config.certFile === null ? CertificateField.Cert : CertificateField.Key;
      throw new CertificateError(missing, '', `mutual TLS needs both cert and key; ${missing} is missing`);
    }
    const files = { certFile: config.certFile, keyFile: config.keyFile };
    const pair = parseCertificatePair(readTextSync(files.certFile, CertificateField.Cert), readTextSync(files.keyFile, CertificateField.Key), files);
    cert = pair.certPem;
    key = pair.keyPem;
  }
  const h = createHash('sha256');
  for (const part of [ca, cert, key, config.servername, String(config.verify)]) h.update(part ?? '\0').update('\0');
  return { config, ca, cert, key, fingerprint: h.digest('hex').slice(0, 16) };
}

/** Material per config object: a generation's traffic pools and health probes read the files once. */
const loaded = new WeakMap<UpstreamTlsConfig, UpstreamTlsMaterial>();

/**
 * The material of a pool's `tls` settings, loaded on first use for this config object (a reload
 * builds new config objects, so it reads the files again and a changed CA or client certificate
 * gets a new fingerprint). null for a pool without `tls`. Throws as loadUpstreamTls.
 */
export function poolTlsMaterial(config: UpstreamTlsConfig | null): UpstreamTlsMaterial | null {
  if (config === null) return null;
  let m = loaded.get(config);
  if (m === undefined) {
    m = loadUpstreamTls(config);
    loaded.set(config, m);
  }
  return m;
}

/**
 * undici `connect` options for one upstream. `hostname` is the host of the upstream's URL as
 * configured (for a DNS-resolved upstream: the name, not the address), so SNI and verification
 * use the name. `material` null = system CAs, verify on, SNI from the hostname. Pure; allocates
 * one object.
 */
export function upstreamConnectOptions(material: UpstreamTlsMaterial | null, hostname: string): UpstreamConnectTls {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const servername = material?.config.servername ?? (isIP(host) === 0 ? host : null);
  const out: { -readonly [K in keyof UpstreamConnectTls]: UpstreamConnectTls[K] } = { rejectUnauthorized: material?.config.verify ?? true };
  if (servername !== null) out.servername = servername;
  if (material?.ca != null) out.ca = material.ca;
  if (material?.cert != null && material.key !== null) {
    out.cert = material.cert;
    out.key = material.key;
  }
  return out;
}

/**
 * The TLS part of undici's `connect` options for `origin` in a pool with `config`: empty for an
 * http:// origin, else upstreamConnectOptions with the pool's (cached) material. Shared by the
 * traffic dispatcher and the health-probe dispatcher, so both verify alike.
 */
export function connectTlsFor(origin: string, hostname: string, config: UpstreamTlsConfig | null): UpstreamConnectTls | null {
  if (!origin.startsWith('https:')) return null;
  return upstreamConnectOptions(poolTlsMaterial(config), hostname);
}

/**
 * The line to log at warn when a pool starts with `verify: false`, or null. Said once per pool
 * at start and on each reload that keeps it.
 */
export function upstreamTlsWarning(pool: string, config: UpstreamTlsConfig | null): string | null {
  if (config === null || config.verify) return null;
  return `pool ${pool}: tls.verify is false: upstream certificates are not verified, so anyone on the network path can impersonate these upstreams; use it only for testing`;
}
