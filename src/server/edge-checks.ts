// The checks Node's HTTP parser (llhttp) leaves to a proxy, as pure functions over what Node
// parsed: version, request target, header count, body framing, Host, the names a client's
// Connection header may remove, which upgrades are tunnelled, and the same strictness for
// upstream response heads. What llhttp already rejects, and what it lets through, is measured in
// test/edge/llhttp-probes.test.ts and summarised in docs/edge.md; the character-level grammar is
// in edge-syntax.ts. No I/O, no responses, no error catalogue: callers map `code` to x-fairway-error.

import { isProtectedFromConnection } from '../proxy/headers.ts';
import { responseHeadProblem } from '../proxy/response-checks.ts';
import { authorityEnd, authorityStart, equalsLower, equalsLowerAt, isValidHost, lowerCode, skipOws, tokenEnd } from './edge-syntax.ts';

/** Why a request (or an upstream response) is refused at the edge. Frozen, shared: no allocation. */
export interface EdgeRejection {
  /** What the client gets. */
  readonly status: 400 | 414 | 431 | 501 | 502 | 505;
  /** The x-fairway-error code (lower-kebab, as core/errors.ts). */
  readonly code: EdgeErrorCode;
  /** The rule that failed: for logs and tests, never sent to the client. */
  readonly reason: string;
}

/** x-fairway-error codes: bad-request and headers-too-large exist in core/errors.ts; the others are new. */
export type EdgeErrorCode = 'bad-request' | 'url-too-long' | 'headers-too-large' | 'not-implemented' | 'version-not-supported' | 'bad-response';

const CODE_OF = { 400: 'bad-request', 414: 'url-too-long', 431: 'headers-too-large', 501: 'not-implemented', 502: 'bad-response', 505: 'version-not-supported' } as const;
function rejection(status: EdgeRejection['status'], reason: string): EdgeRejection {
  return Object.freeze({ status, code: CODE_OF[status], reason });
}

/** Every rejection this module returns, one frozen object per rule. */
export const Reject = {
  VersionMissing: rejection(400, 'request line without an HTTP/1.x version'),
  VersionNotSupported: rejection(505, 'HTTP version other than 1.0 and 1.1'),
  TargetTooLong: rejection(414, 'request target longer than maxUrlSize'),
  TargetMalformed: rejection(400, 'request target is not origin-form, absolute-form or *'),
  TargetFragment: rejection(400, 'request target carries a #fragment'),
  AsteriskNotOptions: rejection(400, 'asterisk-form target on a method other than OPTIONS'),
  AbsoluteFormHost: rejection(400, 'absolute-form target names another host than Host'),
  TooManyHeaders: rejection(431, 'more header fields than maxHeaderCount'),
  TransferEncodingUnknown: rejection(501, 'transfer coding other than chunked'),
  TransferEncodingMalformed: rejection(400, 'Transfer-Encoding is not exactly chunked'),
  TransferEncodingRepeated: rejection(400, 'Transfer-Encoding field repeated'),
  TransferEncodingHttp10: rejection(400, 'Transfer-Encoding on an HTTP/1.0 request'),
  ContentLengthWithTransferEncoding: rejection(400, 'Content-Length together with Transfer-Encoding'),
  ContentLengthRepeated: rejection(400, 'Content-Length field repeated'),
  ContentLengthMalformed: rejection(400, 'Content-Length is not a decimal number'),
  FramingLookalike: rejection(400, 'Transfer_Encoding or Content_Length field name'),
  UpgradeWithChunkedBody: rejection(400, 'Upgrade with a chunked body (Node hides its chunk errors)'),
  HostMissing: rejection(400, 'HTTP/1.1 request without Host'),
  HostRepeated: rejection(400, 'Host field repeated'),
  HostInvalid: rejection(400, 'Host is not a valid host[:port]'),
  ParseError: rejection(400, 'rejected by the HTTP parser'),
  HeadersOverflow: rejection(431, 'header bytes or field count over the parser limit'),
  Http2Preface: rejection(505, 'HTTP/2 connection preface on an HTTP/1 listener'),
  ResponseStatus: rejection(502, 'upstream status outside 100-599'),
  ResponseTooManyHeaders: rejection(502, 'upstream response with more header fields than the limit'),
  ResponseTransferEncoding: rejection(502, 'upstream Transfer-Encoding is not exactly chunked'),
} as const;

/** The fields of Node's IncomingMessage the checks read (IncomingMessage satisfies it). */
export interface RequestHead {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** [name, value, name, value, …] as received (names keep their case). */
  readonly rawHeaders: readonly string[];
}

export interface EdgeLimits {
  /** `server.maxHeaderCount` (100): more fields → 431. */
  readonly maxHeaderCount: number;
  /** `server.maxUrlSize` in bytes (8192): a longer request target → 414. */
  readonly maxUrlBytes: number;
}

// ── request line ──────────────────────────────────────────────────────────────────────────────

/**
 * HTTP/1.0 and 1.1 pass. Node reports a line without a version ("GET /x") as 0.9 (400) and
 * `HTTP/2.0` as 2.0 (505); llhttp itself refuses 1.2, 3.0… (see clientErrorRejection). O(1).
 */
export function checkVersion(major: number, minor: number): EdgeRejection | null {
  if (major === 1 && (minor === 1 || minor === 0)) return null;
  return major === 0 ? Reject.VersionMissing : Reject.VersionNotSupported;
}

/**
 * The request target: not longer than `maxUrlBytes` (414); origin-form ("/p?q"), absolute-form
 * with an http/https scheme and a valid authority without userinfo, or "*" for OPTIONS only;
 * never a fragment. llhttp has already refused control characters, spaces and bytes ≥ 0x80, so
 * a JS character is one byte here. O(length), allocates nothing.
 */
export function checkTarget(url: string | undefined, method: string | undefined, maxUrlBytes: number): EdgeRejection | null {
  if (url === undefined || url.length === 0) return Reject.TargetMalformed;
  if (url.length > maxUrlBytes) return Reject.TargetTooLong;
  if (url.indexOf('#') !== -1) return Reject.TargetFragment;
  const c = url.charCodeAt(0);
  if (c === 0x2f /* / */) return null;
  if (url === '*') return method === 'OPTIONS' ? null : Reject.AsteriskNotOptions;
  const start = authorityStart(url);
  if (start === -1) return Reject.TargetMalformed;
  const end = authorityEnd(url, start);
  return isValidHost(url, start, end) ? null : Reject.TargetMalformed;
}

/**
 * RFC 9112 §3.2.2: an absolute-form target names the request's host. The proxy routes on Host
 * and forwards it unchanged, so the two must agree (ASCII case-insensitive). Null when they do,
 * for other target forms and without Host (HTTP/1.0). O(length).
 */
export function checkAbsoluteFormHost(url: string | undefined, host: string | null): EdgeRejection | null {
  if (url === undefined || host === null) return null;
  const start = authorityStart(url);
  if (start === -1) return null;
  const end = authorityEnd(url, start);
  if (end - start !== host.length) return Reject.AbsoluteFormHost;
  for (let i = 0; i < host.length; i++) {
    if (lowerCode(url.charCodeAt(start + i)) !== lowerCode(host.charCodeAt(i))) return Reject.AbsoluteFormHost;
  }
  return null;
}

/**
 * Host: exactly one field on HTTP/1.1 (RFC 9112 §3.2), at most one on HTTP/1.0, holding a valid
 * host[:port]. `host` is the first value (null when absent), `count` the number of fields.
 */
export function checkHost(host: string | null, count: number, major: number, minor: number): EdgeRejection | null {
  if (count > 1) return Reject.HostRepeated;
  if (host === null) return major === 1 && minor >= 1 ? Reject.HostMissing : null;
  if (host === lastValidHost) return null;
  if (!isValidHost(host)) return Reject.HostInvalid;
  lastValidHost = host;
  return null;
}

/** The last Host found valid: most requests repeat it, and comparing is cheaper than parsing. */
let lastValidHost: string | null = null;

// ── framing ───────────────────────────────────────────────────────────────────────────────────

/**
 * One Transfer-Encoding value (Node has trimmed its outer whitespace). Exactly `chunked` (any
 * case, RFC 9112 §7) passes. A well-formed list naming any other coding (`gzip, chunked`,
 * `identity, chunked`, `xchunked`) is 501: the proxy implements none (RFC 9112 §6.1). Anything
 * else (empty elements, parameters, `chunked` twice) is 400. O(length), allocates nothing.
 */
export function checkTransferEncoding(value: string): EdgeRejection | null {
  if (equalsLower(value, 'chunked')) return null;
  let chunked = 0;
  let i = 0;
  const n = value.length;
  while (i <= n) {
    // One list element: OWS token OWS, up to ',' or the end.
    const start = skipOws(value, i);
    const end = tokenEnd(value, start);
    i = skipOws(value, end);
    if (end === start || (i < n && value.charCodeAt(i) !== 0x2c)) return Reject.TransferEncodingMalformed;
    if (end - start === 7 && equalsLowerAt(value, start, 'chunked')) chunked++;
    i++;
  }
  return chunked > 1 ? Reject.TransferEncodingMalformed : Reject.TransferEncodingUnknown;
}

/**
 * The framing facts of one request head, gathered in one pass by checkRequestHead: how many
 * Transfer-Encoding / Content-Length fields and the first value of each (null when none), and
 * whether a `Transfer_Encoding` / `Content_Length` field is present.
 */
export interface Framing {
  teCount: number;
  te: string | null;
  clCount: number;
  cl: string | null;
  lookalike: boolean;
}

/**
 * RFC 9112 §6: one unambiguous body length. Transfer-Encoding only on HTTP/1.1, never with
 * Content-Length, in one field, exactly `chunked`; at most one Content-Length of digits only;
 * no underscore look-alikes of either name (CGI-style servers turn `_` into `-`). llhttp
 * already refuses CL+TE, repeated or malformed Content-Length and some TE shapes; this repeats
 * those (cheaply) so the rule does not depend on a parser flag. O(length of the values).
 */
export function checkFraming(f: Framing, major: number, minor: number): EdgeRejection | null {
  if (f.lookalike) return Reject.FramingLookalike;
  if (f.teCount > 0) {
    if (major === 1 && minor === 0) return Reject.TransferEncodingHttp10;
    if (f.clCount > 0) return Reject.ContentLengthWithTransferEncoding;
    if (f.teCount > 1) return Reject.TransferEncodingRepeated;
    return checkTransferEncoding(f.te!);
  }
  if (f.clCount > 1) return Reject.ContentLengthRepeated;
  if (f.cl !== null) {
    const v = f.cl;
    if (v.length === 0 || v.length > 15) return Reject.ContentLengthMalformed;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return Reject.ContentLengthMalformed;
    }
  }
  return null;
}

// ── Connection, Upgrade ───────────────────────────────────────────────────────────────────────

/** The Connection rule lives with the other header rules (proxy/headers.ts); re-exported for the edge tests. */
export { isProtectedFromConnection };

/**
 * Whether an upgrade request is tunnelled: only `Upgrade: websocket` (one token, any case) on
 * an HTTP/1.1 GET without a body (RFC 6455 §4.1). Anything else (`h2c` included) is served as a
 * plain request with Upgrade dropped. Meant for node:http's `shouldUpgradeCallback`, which
 * llhttp consults only when Connection names upgrade. O(headers), allocates nothing.
 */
export function isTunnelledUpgrade(req: RequestHead): boolean {
  if (req.method !== 'GET' || req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return false;
  const raw = req.rawHeaders;
  let websocket = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 7 && equalsLower(name, 'upgrade')) {
      if (websocket || !equalsLower(raw[i + 1]!, 'websocket')) return false;
      websocket = true;
    } else if (name.length === 17 && equalsLower(name, 'transfer-encoding')) {
      return false;
    } else if (name.length === 14 && equalsLower(name, 'content-length') && raw[i + 1] !== '0') {
      return false;
    }
  }
  return websocket;
}

// ── the whole head ────────────────────────────────────────────────────────────────────────────

/** Reused by checkRequestHead (single-threaded; never escapes). */
const scratch: Framing = { teCount: 0, te: null, clCount: 0, cl: null, lookalike: false };

/**
 * Every request-head rule, in this order: version (400/505), target length (414), header count
 * (431), Upgrade with a chunked body (400), framing (400/501), Host (400), target shape (400),
 * absolute-form host (400). Null
 * means the head may be forwarded. One pass over rawHeaders; allocates nothing (IPv6 literals
 * aside). Cost: see test/edge/edge-checks.bench.ts (docs/edge.md).
 */
export function checkRequestHead(req: RequestHead, limits: EdgeLimits): EdgeRejection | null {
  const major = req.httpVersionMajor;
  const minor = req.httpVersionMinor;
  const version = checkVersion(major, minor);
  if (version !== null) return version;
  const url = req.url;
  if (url !== undefined && url.length > limits.maxUrlBytes) return Reject.TargetTooLong;
  const raw = req.rawHeaders;
  if (raw.length > limits.maxHeaderCount * 2) return Reject.TooManyHeaders;

  const f = scratch;
  f.teCount = 0;
  f.te = null;
  f.clCount = 0;
  f.cl = null;
  f.lookalike = false;
  let host: string | null = null;
  let hostCount = 0;
  let upgrade = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 4:
        if (equalsLower(name, 'host')) {
          if (hostCount++ === 0) host = raw[i + 1]!;
        }
        break;
      case 7:
        if (equalsLower(name, 'upgrade')) upgrade = true;
        break;
      case 14:
        if (equalsLower(name, 'content-length')) {
          if (f.clCount++ === 0) f.cl = raw[i + 1]!;
        } else if (equalsLower(name, 'content_length')) f.lookalike = true;
        break;
      case 17:
        if (equalsLower(name, 'transfer-encoding')) {
          if (f.teCount++ === 0) f.te = raw[i + 1]!;
        } else if (equalsLower(name, 'transfer_encoding')) f.lookalike = true;
        break;
    }
  }
  // A request Node parsed as an upgrade and then served plain (shouldUpgradeCallback false) gets
  // no clientError for a bad chunk: its body would hang (test/edge/llhttp-probes.test.ts).
  const result =
    (upgrade && f.teCount > 0 ? Reject.UpgradeWithChunkedBody : null) ??
    checkFraming(f, major, minor) ??
    checkHost(host, hostCount, major, minor) ??
    checkTarget(url, req.method, limits.maxUrlBytes) ??
    checkAbsoluteFormHost(url, host);
  f.te = null;
  f.cl = null;
  return result;
}

// ── parse errors and upstream responses ───────────────────────────────────────────────────────

/**
 * What to answer when node:http's parser refused a request ('clientError'), from llhttp's
 * `code` and `reason` (as measured on Node 24): header bytes or count over the limit → 431, a
 * well-formed but unsupported version (HTTP/1.2, 3.0…) or an HTTP/2 preface → 505, a
 * transfer coding llhttp refuses (after the handler already saw the head) → 501, anything
 * else → 400. Null for errors that are not the client's request (resets, timeouts): the caller
 * handles those. O(1).
 */
export function clientErrorRejection(err: { code?: string | undefined; reason?: string | undefined }): EdgeRejection | null {
  const code = err.code;
  if (code === undefined || !code.startsWith('HPE_')) return null;
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return Reject.HeadersOverflow;
    case 'HPE_INVALID_VERSION':
      return err.reason === 'Invalid HTTP version' ? Reject.VersionNotSupported : Reject.ParseError;
    case 'HPE_PAUSED_H2_UPGRADE':
      return Reject.Http2Preface;
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return err.reason === 'Request has invalid `Transfer-Encoding`' ? Reject.TransferEncodingUnknown : Reject.ParseError;
    default:
      return Reject.ParseError;
  }
}

/**
 * An upstream response head as undici delivers it to a dispatch handler (status ≥ 200 or a 1xx
 * the caller skips): status in 100–599, at most `maxHeaderCount` fields (`fieldCount` =
 * controller.rawHeaders.length / 2; undici itself has no count limit), and no transfer coding
 * but `chunked` (undici decodes only chunked, so `gzip, chunked` would reach the client as
 * undeclared gzip). Every failure is 502 bad-response. O(1) plus the TE value.
 */
export function checkResponseHead(
  status: number,
  fieldCount: number,
  transferEncoding: string | readonly string[] | undefined,
  maxHeaderCount: number,
): EdgeRejection | null {
  switch (responseHeadProblem(status, fieldCount, transferEncoding, maxHeaderCount)) {
    case 'status':
      return Reject.ResponseStatus;
    case 'too-many-fields':
      return Reject.ResponseTooManyHeaders;
    case 'transfer-encoding':
      return Reject.ResponseTransferEncoding;
    default:
      return null;
  }
}
