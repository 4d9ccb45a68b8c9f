// The PEM files a config names: listener certificates and keys, upstream CA bundles and client
// certificates. Reads them (synchronously: config loading is) and judges them with node:crypto:
// readable, real PEM, key matching its certificate. Also the readers the TLS runtime can use to
// load (and reload) the same files with the same verdicts. Serving TLS is not done here.

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KeyPath, PathIssue } from './errors.ts';
import { isRecord, parsePart } from './partial.ts';
import { resolveIn } from './paths.ts';
import { upstreamTlsSchema } from './pool-schema.ts';
import { certificateSchema } from './schema.ts';

/** A file read, or why it could not be. */
type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** A certificate chain and its private key, read and checked. */
export type TlsPair =
  | { readonly ok: true; readonly cert: Buffer; readonly key: Buffer }
  | { readonly ok: false; readonly field: 'cert' | 'key'; readonly message: string };

/** A CA bundle, read and checked. */
export type CaBundle = { readonly ok: true; readonly ca: Buffer } | { readonly ok: false; readonly message: string };

function readBytes(file: string): Read<Buffer> {
  try {
    return { ok: true, value: readFileSync(file) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    return { ok: false, message: `cannot read ${file}: ${why}` };
  }
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;

/** Every certificate of a PEM file, in order (a chain: leaf first; or a CA bundle). */
function certificates(file: string, pem: Buffer): Read<X509Certificate[]> {
  const blocks = pem.toString('latin1').match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) return { ok: false, message: `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
  const out: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      const which = blocks.length === 1 ? 'its certificate' : `certificate ${i + 1} of ${blocks.length}`;
      return { ok: false, message: `${file}: ${which} is not a valid PEM certificate` };
    }
  }
  return { ok: true, value: out };
}

function privateKey(file: string, pem: Buffer): Read<KeyObject> {
  try {
    return { ok: true, value: createPrivateKey({ key: pem, format: 'pem' }) };
  } catch {
    // PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY) and traditional (Proc-Type: 4,ENCRYPTED) encryption fail with different codes.
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(pem.toString('latin1'))) {
      return { ok: false, message: `${file} holds an encrypted private key; Fairway needs it unencrypted` };
    }
    return { ok: false, message: `${file} holds no valid PEM private key` };
  }
}

/** Reads a certificate file alone (leaf first). O(file size). */
function readCertificates(file: string): Read<{ pem: Buffer; leaf: X509Certificate }> {
  const bytes = readBytes(file);
  if (!bytes.ok) return bytes;
  const certs = certificates(file, bytes.value);
  return certs.ok ? { ok: true, value: { pem: bytes.value, leaf: certs.value[0] as X509Certificate } } : certs;
}

function readKey(file: string): Read<{ pem: Buffer; key: KeyObject }> {
  const bytes = readBytes(file);
  if (!bytes.ok) return bytes;
  const key = privateKey(file, bytes.value);
  return key.ok ? { ok: true, value: { pem: bytes.value, key: key.value } } : key;
}

function mismatch(certFile: string, keyFile: string): string {
  return `${keyFile} does not match the certificate in ${certFile} (the first certificate of that file)`;
}

/**
 * Reads a certificate chain (PEM, leaf first) and its private key (PEM, unencrypted) and checks
 * that the key belongs to the leaf. Paths are used as given (resolve them first). Synchronous;
 * O(file sizes). The result says which file is wrong; messages name the file.
 */
export function readTlsPair(certFile: string, keyFile: string): TlsPair {
  const cert = readCertificates(certFile);
  if (!cert.ok) return { ok: false, field: 'cert', message: cert.message };
  const key = readKey(keyFile);
  if (!key.ok) return { ok: false, field: 'key', message: key.message };
  if (!cert.value.leaf.checkPrivateKey(key.value.key)) return { ok: false, field: 'key', message: mismatch(certFile, keyFile) };
  return { ok: true, cert: cert.value.pem, key: key.value.pem };
}

/** Reads a PEM bundle of one or more CA certificates. Synchronous; O(file size). */
export function readCaBundle(file: string): CaBundle {
  const bytes = readBytes(file);
  if (!bytes.ok) return bytes;
  const certs = certificates(file, bytes.value);
  return certs.ok ? { ok: true, ca: bytes.value } : certs;
}

/**
 * Every problem with the PEM files of an expanded raw config: `listen[].tls.certificates[]`
 * and `pools.*.tls` (ca, cert, key). Relative paths start at `dir`. A part the schema rejects
 * is skipped (the schema reports it); a cert or key that cannot be read is reported at its key,
 * and a pair is matched only when both files are good.
 */
export function tlsFileIssues(raw: unknown, dir: string): PathIssue[] {
  const issues: PathIssue[] = [];
  if (!isRecord(raw)) return issues;
  const listen = raw['listen'];
  const entries: [KeyPath, unknown][] = Array.isArray(listen) ? listen.map((e: unknown, i) => [['listen', i], e]) : [[['listen'], listen]];
  for (const [path, entry] of entries) {
    const tls = isRecord(entry) ? entry['tls'] : undefined;
    const certs = isRecord(tls) ? tls['certificates'] : undefined;
    if (!Array.isArray(certs)) continue;
    certs.forEach((item: unknown, i) => {
      const pair = parsePart(certificateSchema, item);
      if (pair !== undefined) checkFiles([...path, 'tls', 'certificates', i], { cert: pair.cert, key: pair.key }, dir, issues);
    });
  }
  const pools = raw['pools'];
  for (const [name, pool] of isRecord(pools) ? Object.entries(pools) : []) {
    const tls = isRecord(pool) ? pool['tls'] : undefined;
    if (!isRecord(tls)) continue;
    const path = ['pools', name, 'tls'];
    const written = (key: 'ca' | 'cert' | 'key'): string | undefined => parsePart(upstreamTlsSchema.shape[key], tls[key]);
    const ca = written('ca');
    if (ca !== undefined) {
      const bundle = readCaBundle(resolveIn(dir, ca));
      if (!bundle.ok) issues.push({ path: [...path, 'ca'], message: bundle.message });
    }
    checkFiles(path, { cert: written('cert'), key: written('key') }, dir, issues);
  }
  return issues;
}

/** Checks a cert and key written at `path` (either may be absent: then the other is checked alone). */
function checkFiles(path: KeyPath, files: { cert: string | undefined; key: string | undefined }, dir: string, issues: PathIssue[]): void {
  const certFile = files.cert === undefined ? undefined : resolveIn(dir, files.cert);
  const keyFile = files.key === undefined ? undefined : resolveIn(dir, files.key);
  const cert = certFile === undefined ? undefined : readCertificates(certFile);
  const key = keyFile === undefined ? undefined : readKey(keyFile);
  if (cert !== undefined && !cert.ok) issues.push({ path: [...path, 'cert'], message: cert.message });
  if (key !== undefined && !key.ok) issues.push({ path: [...path, 'key'], message: key.message });
  if (cert?.ok && key?.ok && !cert.value.leaf.checkPrivateKey(key.value.key)) {
    issues.push({ path: [...path, 'key'], message: mismatch(certFile ?? '', keyFile ?? '') });
  }
}
