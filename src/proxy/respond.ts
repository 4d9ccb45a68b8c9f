// Responses the proxy produces itself: a short plain-text body and an x-fairway-error header
// naming the cause. Never includes upstream details or header values.

import { STATUS_CODES, type ServerResponse } from 'node:http';
import { STATUS_OF, type ErrorCode } from '../core/errors.ts';

const MESSAGES: Readonly<Record<ErrorCode, string>> = {
  'no-route': 'No route matches this request.',
  'no-upstream': 'No upstream is available for this request.',
  'connect-refused': 'The upstream refused the connection.',
  'connect-timeout': 'Connecting to the upstream timed out.',
  'connect-error': 'The upstream could not be reached.',
  'upstream-reset': 'The upstream closed the connection.',
  'upstream-timeout': 'The upstream did not answer in time.',
  'upstream-idle-timeout': 'The upstream stopped sending its response.',
  'upstream-status': 'The upstream failed.',
  'bad-response': 'The upstream sent a malformed response.',
  'body-too-large': 'The request body is too large.',
  'bad-request': 'Bad request.',
  'headers-too-large': 'The request headers are too large.',
  'request-timeout': 'The request was not received in time.',
  'method-not-allowed': 'This method is not supported by the proxy.',
  'client-abort': 'Client closed the request.',
  draining: 'The proxy is shutting down.',
  internal: 'Internal proxy error.',
};

/** Precomputed bodies: one Buffer per code, built once. */
const BODIES = new Map<ErrorCode, Buffer>(
  (Object.keys(MESSAGES) as ErrorCode[]).map((code) => [code, Buffer.from(`${STATUS_OF[code]} ${MESSAGES[code]}\n`)]),
);

/** The short plain-text body of the proxy's own response for `code` (shared, never mutate). */
export function errorBody(code: ErrorCode): Buffer {
  return BODIES.get(code)!;
}

/**
 * The same error as a complete raw HTTP/1.1 response that closes the connection: for sockets
 * outside a ServerResponse (parse errors, refused upgrades, CONNECT).
 */
export function rawErrorResponse(code: ErrorCode): string {
  const status = STATUS_OF[code];
  const body = BODIES.get(code)!;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n` +
    `content-length: ${body.length}\r\nx-fairway-error: ${code}\r\ncache-control: no-store\r\n` +
    `${status === 503 ? 'retry-after: 1\r\n' : ''}\r\n${body.toString('latin1')}`
  );
}

/**
 * Answers with the proxy's own error for `code`. A 503 carries `Retry-After: 1`.
 * Does nothing if headers were already sent (the caller must abort the socket instead).
 */
export function respondError(res: ServerResponse, code: ErrorCode, closeConnection = false): void {
  if (res.headersSent || res.destroyed) return;
  const status = STATUS_OF[code];
  const body = BODIES.get(code)!;
  const headers: string[] = [
    'content-type', 'text/plain; charset=utf-8',
    'content-length', String(body.length),
    'x-fairway-error', code,
    'cache-control', 'no-store',
  ];
  if (status === 503) headers.push('retry-after', '1');
  if (closeConnection) headers.push('connection', 'close');
  res.writeHead(status, headers);
  res.end(body);
}
