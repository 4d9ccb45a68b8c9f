// Header rules for both directions: hop-by-hop removal (RFC 9110 §7.6.1, including every
// name listed in Connection) and X-Forwarded-*. Pure; no I/O. Header values are never logged.

/** Response headers as undici parses them: lower-case names; arrays for repeated fields (set-cookie). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Hop-by-hop headers (RFC 9110 §7.6.1 plus the de-facto Keep-Alive and Proxy-Connection). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Names a client's Connection header may not remove (RFC 9110 §7.6.1 lets it nominate
 * hop-by-hop fields, not these): Host, the body's framing and the forwarding headers the proxy
 * sets itself. Naming them is ignored, not an error. O(1), allocates nothing.
 */
export function isProtectedFromConnection(lower: string): boolean {
  return PROTECTED.has(lower);
}
const PROTECTED: ReadonlySet<string> = new Set([
  'host', 'content-length', 'transfer-encoding', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded',
]);

/**
 * Names listed in Connection header values (lower-cased), minus those already hop-by-hop and
 * those it may not remove (isProtectedFromConnection).
 * Returns null when there are none, which is the common case (allocation only when needed).
 */
export function connectionTokens(values: readonly string[]): Set<string> | null {
  let extra: Set<string> | null = null;
  for (const value of values) {
    if (isPlainConnectionValue(value)) continue; // the usual case: nothing to parse or allocate
    for (const raw of value.split(',')) {
      const token = raw.trim().toLowerCase();
      if (token === '' || token === 'close' || HOP_BY_HOP.has(token) || PROTECTED.has(token)) continue;
      (extra ??= new Set()).add(token);
    }
  }
  return extra;
}

/** `keep-alive` or `close` in any case: names no extra header. */
function isPlainConnectionValue(v: string): boolean {
  switch (v.length) {
    case 10:
      return v === 'keep-alive' || v.toLowerCase() === 'keep-alive';
    case 5:
      return v === 'close' || v.toLowerCase() === 'close';
    default:
      return false;
  }
}

export interface ForwardedRequestHeaders {
  /** Flat [name, value, name, value, …] list for undici. */
  headers: string[];
  /** The client's Host header, or null when absent. */
  host: string | null;
  /** More than one Host header: a smuggling shape, answered 400. */
  hostCount: number;
  /** The request carries Idempotency-Key. */
  hasIdempotencyKey: boolean;
  /** Content-Length as a number, -1 when absent. */
  contentLength: number;
  /** The request body is chunked (Transfer-Encoding present; it is not forwarded as such). */
  chunked: boolean;
  /** The client's traceparent / tracestate (W3C Trace Context), not yet in `headers`: the pipeline decides. */
  traceparent: string | null;
  tracestate: string | null;
}

/**
 * Builds the header list sent upstream from Node's `rawHeaders` (names keep their case,
 * repeated headers keep their order). Removes hop-by-hop headers and `expect` (Node answers
 * `100-continue` itself), appends the client address to X-Forwarded-For and sets
 * X-Forwarded-Proto / X-Forwarded-Host. Host is forwarded unchanged.
 * O(headers); allocates the output list only.
 */
export function forwardRequestHeaders(
  raw: readonly string[],
  clientAddress: string,
  proto: string,
): ForwardedRequestHeaders {
  // Pass 1 (rare work only): Connection-listed names.
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      listed = mergeTokens(listed, raw[i + 1] as string);
    }
  }

  const out: string[] = [];
  let host: string | null = null;
  let hostCount = 0;
  let xff: string | null = null;
  let hasIdempotencyKey = false;
  let contentLength = -1;
  let chunked = false;
  let traceparent: string | null = null;
  let tracestate: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === 'expect') {
      if (lower === 'transfer-encoding') chunked = true;
      continue;
    }
    if (listed !== null && listed.has(lower)) continue;
    switch (lower) {
      case 'host':
        hostCount++;
        if (host === null) host = value;
        else continue;
        break;
      case 'x-forwarded-for':
        xff = xff === null ? value : `${xff}, ${value}`;
        continue;
      case 'x-forwarded-proto':
      case 'x-forwarded-host':
        continue;
      case 'idempotency-key':
        hasIdempotencyKey = true;
        break;
      case 'content-length':
        // llhttp already rejected malformed and conflicting values.
        contentLength = Number(value);
        break;
      case 'traceparent':
        // More than one makes it invalid (W3C Trace Context §3.2): a new one is made.
        traceparent = traceparent === null ? value : '';
        continue;
      case 'tracestate':
        tracestate = tracestate === null ? value : `${tracestate},${value}`;
        continue;
    }
    out.push(name, value);
  }
  out.push(
    'x-forwarded-for',
    xff === null ? clientAddress : `${xff}, ${clientAddress}`,
    'x-forwarded-proto',
    proto,
  );
  if (host !== null) out.push('x-forwarded-host', host);
  return { headers: out, host, hostCount, hasIdempotencyKey, contentLength, chunked, traceparent, tracestate };
}

function mergeTokens(into: Set<string> | null, value: string): Set<string> | null {
  const tokens = connectionTokens([value]);
  if (tokens === null) return into;
  if (into === null) return tokens;
  for (const t of tokens) into.add(t);
  return into;
}

/**
 * Builds the flat response header list for `res.writeHead` from undici's parsed headers
 * (lower-cased names; arrays for repeated headers such as set-cookie), without hop-by-hop
 * headers. O(headers).
 */
export function forwardResponseHeaders(headers: ResponseHeaders, status: number): string[] {
  const conn = headers['connection'];
  const listed = conn === undefined ? null : connectionTokens(typeof conn === 'string' ? [conn] : conn);
  // RFC 9110 §8.6: a 1xx or 204 response never carries Content-Length (some upstreams send one).
  const noLength = status < 200 || status === 204;
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name)) continue;
    if (listed !== null && listed.has(name)) continue;
    if (noLength && name === 'content-length') continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (let i = 0; i < value.length; i++) out.push(name, value[i] as string);
  }
  return out;
}

/** The client address as it goes into X-Forwarded-For (IPv4-mapped IPv6 shown as IPv4). */
export function clientAddressOf(remote: string | undefined): string {
  if (remote === undefined) return 'unknown';
  return remote.startsWith('::ffff:') ? remote.slice(7) : remote;
}

/** Header rules ready to apply: the names to drop (removed and set, lower-case) and what to add. */
export interface CompiledRules {
  readonly drop: ReadonlySet<string>;
  /** Flat [name, value, …] appended after the drop. */
  readonly add: readonly string[];
}

/**
 * Applies compiled rules to a flat [name, value, …] header list in place: drops every field
 * named in `drop` (any case), then appends the set fields. O(headers).
 */
export function applyRules(headers: string[], rules: CompiledRules): void {
  const drop = rules.drop;
  let w = 0;
  for (let r = 0; r < headers.length; r += 2) {
    const name = headers[r]!;
    if (drop.has(name) || drop.has(name.toLowerCase())) continue;
    headers[w++] = name;
    headers[w++] = headers[r + 1]!;
  }
  headers.length = w;
  for (let i = 0; i < rules.add.length; i++) headers.push(rules.add[i]!);
}
