// The benchmark's certificate: one ECDSA P-256 leaf for localhost / 127.0.0.1, self-signed, made
// with the openssl CLI into the run's temp directory (as the reference run: ECDSA P-256,
// TLS 1.3). HAProxy wants certificate and key in one file, so that is written too.

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface BenchCert {
  readonly certFile: string;
  readonly keyFile: string;
  /** Certificate then key in one PEM file (HAProxy `crt`). */
  readonly pemFile: string;
}

/** Writes the certificate into `dir`. One openssl run (~25 ms). */
export async function makeBenchCert(dir: string): Promise<BenchCert> {
  const certFile = path.join(dir, 'bench.crt');
  const keyFile = path.join(dir, 'bench.key');
  const pemFile = path.join(dir, 'bench.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc', '-keyout', keyFile, '-out', certFile,
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2',
  ], { timeout: 10_000 });
  await writeFile(pemFile, (await readFile(certFile, 'utf8')) + (await readFile(keyFile, 'utf8')));
  return { certFile, keyFile, pemFile };
}
