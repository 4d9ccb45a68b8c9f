// Throwaway PKI for tests: a root CA, an optional intermediate, and leaves (server, client,
// wildcard, expired, chain) made at test time with the openssl CLI into a temp dir that
// close() removes; and a TLS client connect helper. Not for production use.

import { execFile } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import type { ListenTls } from '../../src/config/types.ts';
import { silentLogger } from '../../src/observability/log.ts';
import { createHttp2Server, createHttpsServer } from '../../src/tls/server.ts';
import { CertificateStore } from '../../src/tls/store.ts';

const run = promisify(execFile);

/** A certificate and its key on disk, with their PEM text. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** What certFile holds: the leaf, then the intermediate for `chain: true`. */
  readonly certPem: string;
  readonly keyPem: string;
}

export interface LeafOptions {
  /** Sub-directory of the PKI dir that gets `tls.crt` and `tls.key` (Kubernetes Secret names); default `leaf-N`. */
  readonly name?: string;
  /** subjectAltName DNS entries, e.g. ['a.test', '*.b.test']. An empty list (and no ips) means no SAN at all. */
  readonly dns?: readonly string[];
  /** subjectAltName IP entries, e.g. ['127.0.0.1']. */
  readonly ips?: readonly string[];
  /** Subject CN; default the first DNS name, else 'fairway test leaf'. */
  readonly cn?: string;
  /** Extended key usage; default server. */
  readonly usage?: 'server' | 'client';
  /** notBefore 2020-01-01, notAfter 2020-02-01. */
  readonly expired?: boolean;
  /** Issue from the intermediate CA and write leaf + intermediate to certFile (a full chain). */
  readonly chain?: boolean;
}

export interface TestPki {
  /** The temp dir everything is written to. */
  readonly dir: string;
  /** The root CA (trust anchor for clients). */
  readonly ca: CertFiles;
  /** Issues a leaf (ECDSA P-256, 30 days unless expired). One or two openssl runs, ~25 ms each. */
  leaf(opts?: LeafOptions): Promise<CertFiles>;
  /** Writes a fresh P-256 private key that matches no certificate; returns its path. */
  strayKey(name?: string): Promise<string>;
  /** Fresh serving paths (`serving-N/tls.crt`, `tls.key`) holding a copy of `pair`, for tests that replace them. */
  servingCopy(pair: CertFiles): Promise<PairPaths>;
  /** Removes the temp dir. */
  close(): Promise<void>;
}

// One config for every openssl run: no system openssl.cnf defaults (whose v3_ca section would
// make every leaf a CA), extensions chosen per certificate.
const OPENSSL_CNF = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca]
default_ca = backdating
[backdating]
database = $ENV::FAIRWAY_PKI_DIR/index.txt
new_certs_dir = $ENV::FAIRWAY_PKI_DIR
serial = $ENV::FAIRWAY_PKI_DIR/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
`;

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc'];

/**
 * Makes a root CA in a fresh temp dir. openssl CLI rather than a library: it is on every Debian
 * machine, needs no dependency, does ECDSA P-256 and SANs in one run per certificate (~25 ms),
 * while the pure-JS options (selfsigned/node-forge) are RSA-only or slower and Node's crypto
 * cannot sign certificates. `openssl ca` is used only for the backdated (expired) leaf,
 * because `req -x509` cannot set a notAfter in the past.
 */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fairway-pki-'));
  const cnf = path.join(dir, 'openssl.cnf');
  await writeFile(cnf, OPENSSL_CNF);
  await writeFile(path.join(dir, 'index.txt'), '');
  await writeFile(path.join(dir, 'serial'), '1000\n');
  const env = { ...process.env, FAIRWAY_PKI_DIR: dir };
  const openssl = (args: readonly string[]): Promise<unknown> => run('openssl', [...args], { env });

  const readPair = async (certFile: string, keyFile: string): Promise<CertFiles> => ({
    certFile,
    keyFile,
    certPem: await readFile(certFile, 'utf8'),
    keyPem: await readFile(keyFile, 'utf8'),
  });

  const makeCa = async (name: string, cn: string, issuer: CertFiles | null): Promise<CertFiles> => {
    const certFile = path.join(dir, `${name}.crt`);
    const keyFile = path.join(dir, `${name}.key`);
    const signer = issuer === null ? [] : ['-CA', issuer.certFile, '-CAkey', issuer.keyFile];
    await openssl(['req', '-config', cnf, '-x509', ...signer, ...EC_KEY, '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${cn}`, '-days', '2', '-extensions', 'ca_ext']);
    return readPair(certFile, keyFile);
  };

  const ca = await makeCa('ca', 'Fairway Test Root CA', null);
  let intermediate: Promise<CertFiles> | null = null;
  // `openssl ca` appends to one database file: one run at a time.
  let caQueue: Promise<unknown> = Promise.resolve();
  let count = 0;

  const leaf = async (opts: LeafOptions = {}): Promise<CertFiles> => {
    const name = opts.name ?? `leaf-${++count}`;
    const leafDir = path.join(dir, name);
    await mkdir(leafDir, { recursive: true });
    const certFile = path.join(leafDir, 'tls.crt');
    const keyFile = path.join(leafDir, 'tls.key');
    const dns = opts.dns ?? [];
    const ips = opts.ips ?? [];
    const cn = opts.cn ?? dns[0] ?? 'fairway test leaf';
    const san = [...dns.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
    const sanArgs = san === '' ? [] : ['-addext', `subjectAltName=${san}`];
    const ext = opts.usage === 'client' ? 'client_ext' : 'server_ext';
    const issuer = opts.chain === true ? await (intermediate ??= makeCa('intermediate', 'Fairway Test Intermediate CA', ca)) : ca;

    if (opts.expired === true) {
      const csr = path.join(leafDir, 'tls.csr');
      await openssl(['req', '-config', cnf, '-new', ...EC_KEY, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${cn}`, ...sanArgs]);
      const signed = caQueue.then(() => openssl(['ca', '-config', cnf, '-batch', '-notext', '-in', csr, '-out', certFile, '-cert', issuer.certFile, '-keyfile', issuer.keyFile, '-extensions', ext, '-startdate', '20200101000000Z', '-enddate', '20200201000000Z']));
      caQueue = signed.catch(() => {});
      await signed;
    } else {
      await openssl(['req', '-config', cnf, '-x509', '-CA', issuer.certFile, '-CAkey', issuer.keyFile, ...EC_KEY, '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${cn}`, '-days', '30', '-extensions', ext, ...sanArgs]);
    }
    if (opts.chain === true) await writeFile(certFile, (await readFile(certFile, 'utf8')) + issuer.certPem);
    return readPair(certFile, keyFile);
  };

  const strayKey = async (name = `stray-${++count}`): Promise<string> => {
    const keyFile = path.join(dir, `${name}.key`);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    return keyFile;
  };

  const servingCopy = async (pair: CertFiles): Promise<PairPaths> => {
    const servingDir = path.join(dir, `serving-${++count}`);
    await mkdir(servingDir, { recursive: true });
    const files = { certFile: path.join(servingDir, 'tls.crt'), keyFile: path.join(servingDir, 'tls.key') };
    await installPair(pair, files);
    return files;
  };

  return { dir, ca, leaf, strayKey, servingCopy, close: () => rm(dir, { recursive: true, force: true }) };
}

/** A test file's PKI with one server leaf for localhost / 127.0.0.1 (fields filled in beforeAll). */
export interface LocalhostPki {
  readonly pki: TestPki;
  readonly cert: CertFiles;
}

/**
 * Registers beforeAll/afterAll for a PKI and its localhost leaf; read the fields inside tests
 * (they are set once beforeAll ran). The temp dir is removed after the file.
 */
export function localhostPki(): LocalhostPki {
  const holder = {} as { pki: TestPki; cert: CertFiles };
  beforeAll(async () => {
    holder.pki = await createTestPki();
    holder.cert = await holder.pki.leaf({ dns: ['localhost'], ips: ['127.0.0.1'] });
  });
  afterAll(() => holder.pki.close());
  return holder;
}

/**
 * A TLS client connection to 127.0.0.1:port, resolved once the handshake is done (rejected on
 * a handshake error, or after `timeoutMs`). The caller destroys the socket.
 */
export function tlsConnect(port: number, opts: tls.ConnectionOptions = {}, timeoutMs = 5000): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS handshake with port ${port} timed out`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

/** The SHA-256 fingerprint of the first certificate in a PEM text, as Node prints it. */
export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Where a listener reads its pair from. */
export interface PairPaths {
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Writes `from`'s cert and key to `to`'s paths, each atomically (temp file + rename), cert first,
 * as cert-manager-style renewals do. `only` writes just one of them (a half-done rotation).
 */
export async function installPair(from: CertFiles, to: PairPaths, only?: 'cert' | 'key'): Promise<void> {
  const put = async (file: string, text: string): Promise<void> => {
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
  };
  if (only !== 'key') await put(to.certFile, from.certPem);
  if (only !== 'cert') await put(to.keyFile, from.keyPem);
}

/**
 * A directory laid out as the kubelet mounts a Secret: `tls.crt` → `..data/tls.crt`, `..data` →
 * `..<generation>/`. `update()` does what the kubelet does on a change: a new generation
 * directory, a new `..data` symlink renamed over the old one (one atomic step), the old directory
 * removed.
 */
export async function kubeSecretDir(root: string, first: CertFiles): Promise<PairPaths & { update(next: CertFiles): Promise<void> }> {
  await mkdir(root, { recursive: true });
  let generation = 0;
  const writeGeneration = async (pair: CertFiles): Promise<string> => {
    const name = `..gen_${++generation}`;
    await mkdir(path.join(root, name));
    await writeFile(path.join(root, name, 'tls.crt'), pair.certPem);
    await writeFile(path.join(root, name, 'tls.key'), pair.keyPem);
    return name;
  };
  let current = await writeGeneration(first);
  await symlink(current, path.join(root, '..data'));
  await symlink('..data/tls.crt', path.join(root, 'tls.crt'));
  await symlink('..data/tls.key', path.join(root, 'tls.key'));
  return {
    certFile: path.join(root, 'tls.crt'),
    keyFile: path.join(root, 'tls.key'),
    async update(next: CertFiles): Promise<void> {
      const old = current;
      current = await writeGeneration(next);
      await symlink(current, path.join(root, '..data_tmp'));
      await rename(path.join(root, '..data_tmp'), path.join(root, '..data'));
      await rm(path.join(root, old), { recursive: true, force: true });
    },
  };
}

/**
 * An HTTPS server (HTTP/2 + HTTP/1.1 when `tls.http2`) on 127.0.0.1:0 answering `ok`, serving a
 * CertificateStore as a listener would (watching every `pollIntervalMs`, default off). Server,
 * its connections and the store are closed after the test.
 */
export async function startTlsServer(cfg: ListenTls, opts: { readonly pollIntervalMs?: number; readonly keepAliveTimeoutMs?: number } = {}): Promise<{ port: number; store: CertificateStore }> {
  const store = await CertificateStore.open({ tls: cfg, log: silentLogger(), listener: 'https://test', pollIntervalMs: opts.pollIntervalMs ?? 0 });
  const server = cfg.http2
    ? createHttp2Server(store, {}, (_req, res) => res.end('ok'))
    : createHttpsServer(store, { keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5000 }, (_req, res) => res.end('ok'));
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    store.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  });
  return { port: (server.address() as AddressInfo).port, store };
}
