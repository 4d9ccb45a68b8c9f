// HTTP/2 and TLS clients for tests against a TLS listener: an h2 session trusting the test CA
// (closed after the test), one request that reads the whole response (never hangs), and a TLS
// proxy config for startProxy.

import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { onTestFinished } from 'vitest';
import type { CertFiles } from './certs.ts';

export interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Trailers the response carried, or null. */
  trailers: IncomingHttpHeaders | null;
}

export interface H2ConnectOptions {
  /** PEM of the CA to trust (verification on); absent = no verification. */
  readonly ca?: string;
  readonly servername?: string;
  readonly settings?: http2.Settings;
}

/** An h2 session to `url` (https://127.0.0.1:PORT), connected; destroyed after the test. */
export async function h2Connect(url: string, opts: H2ConnectOptions = {}): Promise<ClientHttp2Session> {
  const session = http2.connect(url, {
    ...(opts.ca === undefined ? { rejectUnauthorized: false } : { ca: opts.ca }),
    servername: opts.servername ?? 'localhost',
    ...(opts.settings === undefined ? {} : { settings: opts.settings }),
  });
  session.on('error', () => {});
  onTestFinished(() => {
    if (!session.destroyed) session.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
    setTimeout(() => reject(new Error(`h2 connect to ${url} timed out`)), 5000).unref();
  });
  return session;
}

/**
 * One request on `session`: `headers` (`:path` at least; `:method` defaults to GET), an optional
 * body (written whole, then ended). Resolves with the whole response; rejects on a stream error
 * or after `timeoutMs`.
 */
export function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body: Buffer | null = null, timeoutMs = 10_000): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === null });
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`h2 request ${String(headers[':path'])} timed out`));
    }, timeoutMs);
    let status = 0;
    let head: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      head = h;
      status = Number(h[':status']);
    });
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      clearTimeout(timer);
      resolve({ status, headers: head, body: Buffer.concat(chunks), trailers });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (body !== null) req.end(body);
  });
}

/** A TLS `listen` entry for startProxy's config object, on 127.0.0.1:0. */
export function tlsListen(certificates: readonly CertFiles[], over: { http2?: boolean; minVersion?: string } = {}): Record<string, unknown> {
  return {
    address: '127.0.0.1:0',
    tls: { certificates: certificates.map((c) => ({ cert: c.certFile, key: c.keyFile })), ...over },
  };
}
