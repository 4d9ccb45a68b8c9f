// The single catalogue of proxy errors: a stable lower-kebab code (used in the
// x-fairway-error header, the metrics label and the log field), the HTTP status the proxy
// answers with, and how far an attempt got when it failed (its phase), which retry decides on.

/** How far an attempt got. Retry safety is decided by this, never by the error type alone. */
export const Phase = {
  /** Not connected: nothing reached the upstream. Safe to retry any method. */
  Connect: 0,
  /** The request was (partly) written; no response headers yet. */
  RequestSent: 1,
  /** Response headers arrived but nothing was sent to the client yet. */
  ResponseHeaders: 2,
  /** Response bytes went to the client: never retried, the client is aborted on failure. */
  ResponseStarted: 3,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export const ErrorCode = {
  NoRoute: 'no-route',
  NoUpstream: 'no-upstream',
  ConnectRefused: 'connect-refused',
  ConnectTimeout: 'connect-timeout',
  ConnectError: 'connect-error',
  UpstreamReset: 'upstream-reset',
  UpstreamTimeout: 'upstream-timeout',
  UpstreamIdleTimeout: 'upstream-idle-timeout',
  /** The upstream answered 502/503/504 (a failure for retry and health, not a proxy error). */
  UpstreamStatus: 'upstream-status',
  BadResponse: 'bad-response',
  BodyTooLarge: 'body-too-large',
  BadRequest: 'bad-request',
  HeadersTooLarge: 'headers-too-large',
  UrlTooLong: 'url-too-long',
  NotImplemented: 'not-implemented',
  VersionNotSupported: 'version-not-supported',
  RequestTimeout: 'request-timeout',
  MethodNotAllowed: 'method-not-allowed',
  ClientAbort: 'client-abort',
  Draining: 'draining',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The status the proxy answers with when a failure with this code ends a request. */
export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  'no-route': 404,
  'no-upstream': 503,
  'connect-refused': 502,
  'connect-timeout': 504,
  'connect-error': 502,
  'upstream-reset': 502,
  'upstream-timeout': 504,
  'upstream-idle-timeout': 504,
  'upstream-status': 502,
  'bad-response': 502,
  'body-too-large': 413,
  'bad-request': 400,
  'headers-too-large': 431,
  'url-too-long': 414,
  'not-implemented': 501,
  'version-not-supported': 505,
  'request-timeout': 408,
  'method-not-allowed': 405,
  'client-abort': 499,
  draining: 503,
  internal: 502,
};

/** A classified attempt failure. */
export interface AttemptFailure {
  readonly code: ErrorCode;
  readonly phase: Phase;
}

const CONNECT_ERRNOS = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'EADDRINUSE',
]);

/**
 * Maps an undici / errno error and the phase reached to our code. Matches on `err.code`,
 * never `instanceof` (Node bundles its own undici). Pure, allocates nothing.
 */
export function classify(err: unknown, phase: Phase): ErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return ErrorCode.ConnectRefused;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return ErrorCode.ConnectTimeout;
    case 'UND_ERR_HEADERS_TIMEOUT':
      return ErrorCode.UpstreamTimeout;
    case 'UND_ERR_BODY_TIMEOUT':
      return ErrorCode.UpstreamIdleTimeout;
    case 'UND_ERR_SOCKET':
      // undici's parser-level refusals of a response arrive as socket errors with these messages.
      return isBadResponseMessage(err) ? ErrorCode.BadResponse : ErrorCode.UpstreamReset;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return ErrorCode.UpstreamReset;
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
    case 'UND_ERR_INFO':
    case 'HPE_INVALID_CONSTANT':
    case 'UND_ERR_HEADERS_OVERFLOW':
    case 'ERR_ASSERTION': // undici asserts on a status it cannot parse (e.g. `000`)
    case 'FAIRWAY_BAD_RESPONSE': // a head the proxy's own checks refused (proxy/response-checks.ts)
      return ErrorCode.BadResponse;
    // undici refused the request itself (e.g. a request target it cannot send): the client's
    // problem, never the upstream's.
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
    case 'ERR_INVALID_ARG_TYPE':
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_INVALID_CHAR':
    case 'ERR_HTTP_INVALID_HEADER_VALUE':
      return ErrorCode.BadRequest;
    case 'FAIRWAY_BODY_TOO_LARGE':
      return ErrorCode.BodyTooLarge;
    case 'ETIMEDOUT':
      return phase === Phase.Connect ? ErrorCode.ConnectTimeout : ErrorCode.UpstreamTimeout;
    default:
      // undici's parser errors carry no code, only their name.
      if ((err as { name?: unknown } | null)?.name === 'HTTPParserError') return ErrorCode.BadResponse;
      if (typeof code === 'string') {
        if (code.startsWith('HPE_')) return ErrorCode.BadResponse;
        if (CONNECT_ERRNOS.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')) {
          return ErrorCode.ConnectError;
        }
      }
      return phase === Phase.Connect ? ErrorCode.ConnectError : ErrorCode.UpstreamReset;
  }
}

function isBadResponseMessage(err: unknown): boolean {
  const m = (err as { message?: unknown } | null)?.message;
  return m === 'bad response' || m === 'bad upgrade';
}

/** True for failures that mean the upstream refused or could not be reached at all. */
export function isConnectFailure(code: ErrorCode): boolean {
  return code === ErrorCode.ConnectRefused || code === ErrorCode.ConnectTimeout || code === ErrorCode.ConnectError;
}
