// Tiny HTTP helpers for the bench harness (readiness checks, counters, admin /status): one
// request per connection (no keep-alive left open to a proxy under test), always time-bounded.

import http from 'node:http';
import net from 'node:net';

export interface Got {
  status: number;
  body: string;
}

/** GET `url` with `Connection: close`; rejects on error or after `timeoutMs`. */
export function get(url: string, timeoutMs = 2000): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** GET `url` and parse JSON, or null on any failure. */
export async function getJson(url: string, timeoutMs = 2000): Promise<unknown> {
  try {
    const r = await get(url, timeoutMs);
    return r.status === 200 ? (JSON.parse(r.body) as unknown) : null;
  } catch {
    return null;
  }
}

/** Polls `url` until it answers 2xx, or throws after `timeoutMs`. */
export async function waitHttpOk(url: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await get(url, 1000);
      if (r.status >= 200 && r.status < 300) return;
      last = `status ${r.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} not answering 2xx after ${timeoutMs} ms (${last})`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for peers that cannot bind port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
