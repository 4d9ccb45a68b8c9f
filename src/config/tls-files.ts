// The PEM files a config names: listener certificates and keys, upstream CA bundles and client
// certificates. Reads them (synchronously: config loading is) and judges them with node:crypto
// (readable, real PEM, unencrypted key matching the first certificate of its file), so a bad
// file is a config error at its key at startup, in `fairway check` and on reload. Serving TLS,
// SNI and certificate rotation are not done here.

import { readFileSync } from 'node:fs';
import { CertificateError, keyMismatch, parseCertificates, parsePrivateKey } from '../tls/certificate.ts';
import type { KeyPath, PathIssue } from './errors.ts';
import { isRecord, parsePart } from './partial.ts';
import { resolveIn } from './paths.ts';
import { upstreamTlsSchema } from './pool-schema.ts';
import { certificateSchema } from './schema.ts';

/** A value read from a file, or the operator-facing reason it could not be. */
type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function reason(err: unknown): string {
  const e = err as { reason?: unknown; message?: unknown };
  if (typeof e.reason === 'string' && e.reason !== '') return e.reason;
  return typeof e.message === 'string' ? e.message : String(err);
}

function readText(file: string): Read<string> {
  try {
    return { ok: true, value: readFileSync(file, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : code === 'ELOOP'
              ? 'too many symbolic links'
              : reason(err);
    return { ok: false, message: `cannot read ${file}: ${why}` };
  }
}

/** A parser of tls/certificate.ts, its CertificateError as an operator-facing reason. */
function judged<T>(parse: (text: string, file: string) => T): (file: string, text: string) => Read<T> {
  return (file, text) => {
    try {
      return { ok: true, value: parse(text, file) };
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      return { ok: false, message: err.message };
    }
  };
}

const certificates = judged((text, file) => parseCertificates(text, file));
const privateKey = judged(parsePrivateKey);

function readFile<T>(file: string, parse: (file: string, text: string) => Read<T>): Read<T> {
  const text = readText(file);
  return text.ok ? parse(file, text.value) : text;
}

/**
 * Every problem with the PEM files of an expanded raw config: `listen[].tls.certificates[]`
 * and `pools.*.tls` (ca, cert, key). Relative paths start at `dir`. A part the schema rejects
 * is skipped (the schema reports it); each unreadable or invalid file is reported at its key
 * with its resolved path, and a key is matched against its certificate only when both are good.
 * Synchronous; reads each named file once.
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
      if (pair !== undefined) checkPair([...path, 'tls', 'certificates', i], { cert: pair.cert, key: pair.key }, dir, issues);
    });
  }
  const pools = raw['pools'];
  for (const [name, pool] of isRecord(pools) ? Object.entries(pools) : []) {
    const tls = isRecord(pool) ? pool['tls'] : undefined;
    if (!isRecord(tls)) continue;
    const path = ['pools', name, 'tls'];
    const written = (key: 'ca' | 'cert' | 'key'): string | undefined => parsePart(upstreamTlsSchema.shape[key], tls[key]);
    const ca = written('ca');
    const bundle = ca === undefined ? undefined : readFile(resolveIn(dir, ca), certificates);
    if (bundle !== undefined && !bundle.ok) issues.push({ path: [...path, 'ca'], message: bundle.message });
    checkPair(path, { cert: written('cert'), key: written('key') }, dir, issues);
  }
  return issues;
}

/**
 * Checks a cert and a key written at `path` (either may be absent: then the other is checked
 * alone, and checks.ts reports the missing half). The key must match the first certificate of
 * its file (the leaf); when it matches a later one, the order is what is wrong.
 */
function checkPair(path: KeyPath, files: { cert: string | undefined; key: string | undefined }, dir: string, issues: PathIssue[]): void {
  const certFile = files.cert === undefined ? '' : resolveIn(dir, files.cert);
  const keyFile = files.key === undefined ? '' : resolveIn(dir, files.key);
  const chain = files.cert === undefined ? undefined : readFile(certFile, certificates);
  const key = files.key === undefined ? undefined : readFile(keyFile, privateKey);
  if (chain !== undefined && !chain.ok) issues.push({ path: [...path, 'cert'], message: chain.message });
  if (key !== undefined && !key.ok) issues.push({ path: [...path, 'key'], message: key.message });
  if (!chain?.ok || !key?.ok) return;
  const mismatch = keyMismatch(chain.value, key.value, { certFile, keyFile });
  if (mismatch !== null) issues.push({ path: [...path, 'key'], message: mismatch });
}
