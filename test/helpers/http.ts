// HTTP requests for tests that can never hang: every call has a deadline.

import { Readable } from 'node:stream';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A keep-alive client shared by a test file; close it in afterAll. */
export function newClient(): Agent {
  return new Agent({ keepAliveTimeout: 1000, connections: 64 });
}

const shared = new Agent({ keepAliveTimeout: 500, connections: 128 });

/** Sends one request and reads the whole body as text. Rejects after `timeoutMs`. */
export async function fetchText(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string> | string[];
    body?: string | Buffer | AsyncIterable<Buffer> | null;
    timeoutMs?: number;
    /** Aborts the request (together with the deadline). */
    signal?: AbortSignal;
    dispatcher?: Dispatcher;
  } = {},
): Promise<Reply> {
  const deadline = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
  const res = await undiciRequest(url, {
    method: (opts.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: opts.headers ?? {},
    body: opts.body === undefined || opts.body === null || typeof opts.body === 'string' || Buffer.isBuffer(opts.body) ? (opts.body ?? null) : Readable.from(opts.body),
    signal: opts.signal === undefined ? deadline : AbortSignal.any([deadline, opts.signal]),
    dispatcher: opts.dispatcher ?? shared,
  });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}
