// The contract between the request pipeline (handler.ts) and a client protocol: what the
// pipeline reads of one client request and how it answers it. One thin adapter per protocol
// implements it (h1.ts: HTTP/1.1 requests and upgrade handshakes; HTTP/2 streams next), so the
// pipeline itself never touches node:http types. Types only.

import type { Duplex, Readable } from 'node:stream';
import type { ErrorCode } from '../core/errors.ts';
import type { CompiledRules } from '../proxy/headers.ts';
import type { RequestHead } from './edge-checks.ts';

/** Told once when the client goes away before its response is complete. */
export interface ClientCloseListener {
  onClientClose(): void;
}

/** One client request and its response channel, whatever the protocol. */
export interface Downstream {
  // ── the request ─────────────────────────────────────────────────────────────────────────
  /** Request method as received (upper-case for HTTP/1.1 by llhttp). */
  readonly method: string;
  /** The request target as received (origin-form, absolute-form or `*`). */
  readonly target: string;
  /**
   * Header fields as a flat [name, value, …] list in arrival order, names in their original
   * case; no pseudo-headers (an HTTP/2 adapter turns `:authority` into `host`).
   */
  readonly rawHeaders: readonly string[];
  /** HTTP version: major × 10 + minor (10, 11, 20). */
  readonly version: number;
  /** The client's address as it goes into X-Forwarded-For (IPv4-mapped IPv6 as IPv4). */
  readonly clientAddress: string;
  /** The request arrived over TLS. */
  readonly secure: boolean;
  /**
   * The HTTP/1.x request head as node:http parsed it, for the edge checks Node leaves to the
   * proxy (edge-checks.ts); null for HTTP/2, whose framing and fields nghttp2 has checked.
   */
  readonly head: RequestHead | null;
  /** The request body (read only when the request has one). */
  readonly body: Readable;
  /**
   * Whether a body follows, when the protocol says so itself (HTTP/2: no END_STREAM on the
   * HEADERS frame, length possibly unstated); null when the framing headers say (HTTP/1.x).
   */
  readonly hasBody: boolean | null;
  /** The client asked to switch protocols (`websocket`) and waits for a 101; null otherwise. */
  readonly upgrade: string | null;

  // ── the response ────────────────────────────────────────────────────────────────────────
  /** Response head already sent (nothing can be retried or answered with an error any more). */
  readonly headSent: boolean;
  /** The client is gone before its response completed. */
  readonly gone: boolean;
  /** Registers the one listener told when the client goes away early. Called once. */
  watch(listener: ClientCloseListener): void;
  /**
   * Sends the response head: `headers` is a flat [name, value, …] list without hop-by-hop
   * fields (the adapter drops whatever its protocol forbids). Throws when the protocol refuses a
   * header value; nothing was sent then.
   */
  sendHead(status: number, headers: string[]): void;
  /** Sends a body chunk; false = the client's buffer is full, wait for `whenDrained`. */
  sendChunk(chunk: Buffer): boolean;
  /** Calls `fn` once the client can take more after `sendChunk` returned false. */
  whenDrained(fn: () => void): void;
  /** Ends the response. */
  sendEnd(): void;
  /**
   * Answers with the proxy's own error response for `code` (proxy/respond.ts errorHeaders, then
   * the route's response `rules` when there is a route); `close` ends the connection after it.
   */
  sendError(code: ErrorCode, close: boolean, rules?: CompiledRules | null): void;
  /** Tears the response down so the client can never take a partial body for a complete one. */
  abort(err: Error): void;
  /**
   * Switches to a tunnel after the upstream's `101`: sends the head as given (with the
   * Connection and Upgrade fields a 101 needs), forwards any bytes the client sent after its request, then
   * splices `upstream` and the client both ways. Calls `onClosed` once when either side ends or
   * fails. Only for a Downstream whose `upgrade` is set.
   */
  tunnel(status: number, headers: string[], upstream: Duplex, onClosed: () => void): void;
}
