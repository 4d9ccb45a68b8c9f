// One certificate/key pair as the proxy serves it: read from PEM files, checked (parseable full
// chain, key matching the leaf), and described (DNS names for SNI, notAfter, fingerprint).
// Building secure contexts is options.ts's job; choosing among certificates is sni.ts's.

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { TlsCertificateConfig } from '../config/types.ts';

/** Which file a problem is in, so a config error can point at the `cert`, `key` or `ca` key. */
export const CertificateField = { Cert: 'cert', Key: 'key', Ca: 'ca' } as const;
export type CertificateField = (typeof CertificateField)[keyof typeof CertificateField];

/**
 * A certificate or key file that cannot be served. `message` is one sentence naming the file,
 * ready to follow a config key path (`listen[1].tls.certificates[0].key: …`).
 */
export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  readonly field: CertificateField;
  readonly file: string;

  constructor(field: CertificateField, file: string, message: string) {
    super(message);
    this.field = field;
    this.file = file;
  }
}

/** A checked pair, ready to become a secure context. Immutable once built. */
export interface LoadedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** The cert file's text as read: leaf first, then intermediates. */
  readonly certPem: string;
  readonly keyPem: string;
  /** DNS names the leaf is for, lower-cased, wildcards as `*.example.com`; SAN, else CN (RFC 6125 §6.4.4). */
  readonly names: readonly string[];
  /** IP addresses in the leaf's SAN (never chosen by SNI, which carries no addresses: RFC 6066 §3). */
  readonly ips: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 fingerprint of the leaf, colon-separated hex as Node prints it. */
  readonly fingerprint256: string;
  readonly subject: string;
  readonly issuer: string;
  /** Certificates in the cert file (1 = the leaf alone). */
  readonly chainLength: number;
  /** Things that still serve but an operator should hear about (expired, chain out of order, no DNS name). */
  readonly warnings: readonly string[];
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** The PEM blocks of a text with their labels (`CERTIFICATE`, `PRIVATE KEY`, …), in order. */
export function pemBlocks(text: string): { readonly label: string; readonly pem: string }[] {
  const out: { label: string; pem: string }[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) out.push({ label: m[1]!, pem: m[0] });
  return out;
}

/** Parses every CERTIFICATE block of a file's text; throws CertificateError naming the file. */
export function parseCertificates(text: string, file: string, field: CertificateField = CertificateField.Cert): X509Certificate[] {
  const blocks = pemBlocks(text).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) {
    const keyInside = /PRIVATE KEY-----/.test(text);
    throw new CertificateError(
      field,
      file,
      `${file} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")${keyInside ? '; it holds a private key: are cert and key swapped?' : ''}`,
    );
  }
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b.pem);
    } catch (err) {
      const which = blocks.length === 1 ? 'the certificate' : `certificate ${i + 1} of ${blocks.length}`;
      throw new CertificateError(field, file, `${file}: ${which} is not valid PEM: ${reason(err)}`);
    }
  });
}

/** Parses the private key of a key file's text; throws CertificateError naming the file. */
export function parsePrivateKey(text: string, file: string): KeyObject {
  const blocks = pemBlocks(text);
  const keyBlock = blocks.find((b) => b.label.endsWith('PRIVATE KEY'));
  if (keyBlock === undefined) {
    const certInside = blocks.some((b) => b.label === 'CERTIFICATE');
    throw new CertificateError(
      CertificateField.Key,
      file,
      `${file} holds no PEM private key (expected "-----BEGIN PRIVATE KEY-----")${certInside ? '; it holds a certificate: are cert and key swapped?' : ''}`,
    );
  }
  if (keyBlock.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(keyBlock.pem)) {
    throw new CertificateError(CertificateField.Key, file, `${file} is an encrypted private key; decrypt it first (openssl pkey -in KEY -out PLAIN)`);
  }
  try {
    return createPrivateKey(keyBlock.pem);
  } catch (err) {
    throw new CertificateError(CertificateField.Key, file, `${file} is not a valid private key: ${reason(err)}`);
  }
}

/**
 * Why `key` cannot serve `chain`, or null when it matches the leaf (the first certificate); a
 * key matching a later certificate means the file's order is wrong, and the message says so.
 */
export function keyMismatch(chain: readonly X509Certificate[], key: KeyObject, files: TlsCertificateConfig): string | null {
  if (chain[0]?.checkPrivateKey(key) === true) return null;
  const other = chain.findIndex((c, i) => i > 0 && c.checkPrivateKey(key));
  const hint = other > 0 ? ` (it matches certificate ${other + 1} in the file: the leaf must come first)` : '';
  return `${files.keyFile} does not match the certificate in ${files.certFile}${hint}`;
}

/**
 * Checks a pair given as text and describes it. Throws CertificateError for: no certificate,
 * an unparseable certificate anywhere in the chain, no/encrypted/unparseable key, a key that
 * does not match the first certificate (with a hint when it matches a later one). O(chain).
 */
export function parseCertificatePair(certPem: string, keyPem: string, files: TlsCertificateConfig, nowMs: number = Date.now()): LoadedCertificate {
  const { certFile, keyFile } = files;
  const chain = parseCertificates(certPem, certFile);
  const key = parsePrivateKey(keyPem, keyFile);
  const leaf = chain[0]!;
  const mismatch = keyMismatch(chain, key, files);
  if (mismatch !== null) throw new CertificateError(CertificateField.Key, keyFile, mismatch);

  const { names, ips } = leafIdentities(leaf);
  const notBefore = leaf.validFromDate;
  const notAfter = leaf.validToDate;
  const warnings: string[] = [];
  if (notAfter.getTime() <= nowMs) warnings.push(`the certificate in ${certFile} expired at ${notAfter.toISOString()}`);
  if (notBefore.getTime() > nowMs) warnings.push(`the certificate in ${certFile} is not valid before ${notBefore.toISOString()}`);
  if (names.length === 0) warnings.push(`the certificate in ${certFile} names no DNS host: it can only serve as the default`);
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!)) {
      warnings.push(`${certFile}: certificate ${i + 2} did not issue certificate ${i + 1}; clients may fail to build the chain (order: leaf, then each issuer)`);
      break;
    }
  }
  return {
    certFile,
    keyFile,
    certPem,
    keyPem,
    names,
    ips,
    notBefore,
    notAfter,
    fingerprint256: leaf.fingerprint256,
    subject: leaf.subject,
    issuer: leaf.issuer,
    chainLength: chain.length,
    warnings,
  };
}

/**
 * Reads both files and checks them (see parseCertificatePair). Read errors become
 * CertificateError too: `cannot read /etc/tls/site.key: no such file`. Two file reads.
 */
export async function readCertificatePair(files: TlsCertificateConfig, nowMs: number = Date.now()): Promise<LoadedCertificate> {
  const [certPem, keyPem] = await Promise.all([readText(files.certFile, CertificateField.Cert), readText(files.keyFile, CertificateField.Key)]);
  return parseCertificatePair(certPem, keyPem, files, nowMs);
}

/** Reads a PEM file as text; failures as CertificateError with a plain reason. */
export async function readText(file: string, field: CertificateField): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CertificateError(field, file, `cannot read ${file}: ${readFailure(err)}`);
  }
}

/** readText, synchronously: for config builds, which are synchronous (a few small PEM files per generation). */
export function readTextSync(file: string, field: CertificateField): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CertificateError(field, file, `cannot read ${file}: ${readFailure(err)}`);
  }
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return reason(err);
  }
}

function reason(err: unknown): string {
  const e = err as { reason?: unknown; message?: unknown };
  if (typeof e.reason === 'string' && e.reason !== '') return e.reason;
  return typeof e.message === 'string' ? e.message : String(err);
}

/**
 * DNS names and IPs of a leaf. SAN entries as Node renders them (`DNS:a, IP Address:1.2.3.4`,
 * values with special characters JSON-quoted); CN only when the SAN has no DNS name
 * (RFC 6125 §6.4.4). Names that are not host names (or `*.` + host name) are left out.
 */
export function leafIdentities(cert: X509Certificate): { names: string[]; ips: string[] } {
  const names: string[] = [];
  const ips: string[] = [];
  for (const [type, value] of splitAltNames(cert.subjectAltName ?? '')) {
    if (type === 'DNS') addName(names, value);
    else if (type === 'IP Address') ips.push(value);
  }
  if (names.length === 0) {
    const cn = commonName(cert.subject);
    if (cn !== null) addName(names, cn);
  }
  return { names, ips };
}

const HOST_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/;

/** Adds a lower-cased host name (or `*.host`) once; drops a trailing dot and anything else. */
function addName(out: string[], raw: string): void {
  let n = raw.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  if (n.length > 253 || !HOST_NAME.test(n) || out.includes(n)) return;
  out.push(n);
}

/** Splits Node's subjectAltName string into [type, value] pairs, honouring JSON-quoted values. */
function splitAltNames(san: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon < 0) break;
    const type = san.slice(i, colon);
    let value: string;
    let end: number;
    if (san[colon + 1] === '"') {
      end = closingQuote(san, colon + 2);
      value = safeJson(san.slice(colon + 1, end + 1));
      end = san.indexOf(', ', end + 1);
    } else {
      end = san.indexOf(', ', colon + 1);
      value = san.slice(colon + 1, end < 0 ? san.length : end);
    }
    out.push([type, value]);
    if (end < 0) break;
    i = end + 2;
  }
  return out;
}

function closingQuote(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return s.length - 1;
}

function safeJson(quoted: string): string {
  try {
    const v: unknown = JSON.parse(quoted);
    return typeof v === 'string' ? v : '';
  } catch {
    return '';
  }
}

/** The last CN of a subject as Node renders it (`CN=a\nO=b`, values possibly JSON-quoted). */
function commonName(subject: string): string | null {
  let cn: string | null = null;
  for (const line of subject.split('\n')) {
    if (!line.startsWith('CN=')) continue;
    const v = line.slice(3);
    cn = v.startsWith('"') ? safeJson(v) : v;
  }
  return cn;
}
