// Responses the proxy produces itself: a short plain-text body and an x-fairway-error header
// naming the cause. Never includes upstream details or header values.

import { STATUS_CODES, type ServerResponse } from 'node:http';
import { STATUS_OF, type ErrorCode } from '../core/errors.ts';
import { applyRules, type CompiledRules } from './headers.ts';

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
  'url-too-long': 'The request target is too long.',
  'not-implemented': 'This transfer coding is not supported.',
  'version-not-supported': 'Only HTTP/1.0 and HTTP/1.1 are served here.',
  'request-timeout': 'The request was not received in time.',
  'method-not-allowed': 'This method is not supported by the proxy.',
  'client-abort': 'Client closed the request.',
  draining: 'The proxy is shutting down.',
  internal: 'Internal proxy error.',
};

/** The methods the proxy serves (every one but CONNECT): `Allow` of a 405 and of `OPTIONS *`. */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** Precomputed bodies: one Buffer per code, built once. */
const BODIES = new Map<ErrorCode, Buffer>(
  (Object.keys(MESSAGES) as ErrorCode[]).map((code) => [code, Buffer.from(`${STATUS_OF[code]} ${MESSAGES[code]}\n`)]),
);

/** The short plain-text body of the proxy's own response for `code` (shared, never mutate). */
export function errorBody(code: ErrorCode): Buffer {
  return BODIES.get(code)!;
}

/**
 * The header fields of the proxy's own response for `code` (flat [name, value, …]): plain text,
 * its length, x-fairway-error, no-store, `Retry-After: 1` on a 503, `Allow` on a 405; then a
 * route's response rules when given ("errors the proxy produces on a route get its response headers too").
 */
export function errorHeaders(code: ErrorCode, rules: CompiledRules | null = null): string[] {
  const body = BODIES.get(code)!;
  const headers: string[] = [
    'content-type', 'text/plain; charset=utf-8',
    'content-length', String(body.length),
    'x-fairway-error', code,
    'cache-control', 'no-store',
  ];
  if (STATUS_OF[code] === 503) headers.push('retry-after', '1');
  // RFC 9110 §15.5.6: a 405 says which methods are served.
  else if (STATUS_OF[code] === 405) headers.push('allow', ALLOWED_METHODS);
  if (rules !== null) applyRules(headers, rules);
  return headers;
}

/**
 * The same error as a complete raw HTTP/1.1 response that closes the connection: for sockets
 * outside a ServerResponse (parse errors, refused upgrades, CONNECT).
 */
export function rawErrorResponse(code: ErrorCode, rules: CompiledRules | null = null): string {
  const status = STATUS_OF[code];
  const headers = errorHeaders(code, rules);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nconnection: close\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n${BODIES.get(code)!.toString('latin1')}`;
}

/**
 * Answers with the proxy's own error for `code` (see errorHeaders). Does nothing if headers
 * were already sent (the caller must abort the socket instead).
 */
export function respondError(res: ServerResponse, code: ErrorCode, closeConnection = false, rules: CompiledRules | null = null): void {
  if (res.headersSent || res.destroyed) return;
  const headers = errorHeaders(code, rules);
  if (closeConnection) headers.push('connection', 'close');
  res.writeHead(STATUS_OF[code], headers);
  res.end(BODIES.get(code)!);
}
