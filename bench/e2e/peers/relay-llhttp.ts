// llhttp for the relay yardstick: undici's WebAssembly build of llhttp (the parser undici's own
// HTTP/1.1 client runs), loaded from the pinned undici package (`undici/lib/llhttp/*`: plain
// CommonJS files, reachable because undici's package.json has no "exports" map). One WASM
// instance serves every connection; a `Parser` per connection owns an llhttp_t and forwards the
// span callbacks to its handler as offsets into the chunk being parsed. Owns no sockets.
//
// Why this build and not Node's own parser: node:http's binding (`_http_common`'s HTTPParser,
// or `process.binding('http_parser')`, DEP0111) is internal to Node and hands headers over as JS
// strings; the WASM build gives byte offsets, so the relay copies header bytes without making a
// string per header. The C API behind the exports is llhttp's own (llhttp_alloc, llhttp_execute,
// llhttp_resume, llhttp_get_error_pos …), versioned with undici 8.13.1.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface LlhttpConstants {
  ERROR: Record<string, number>;
  TYPE: { REQUEST: number; RESPONSE: number };
  METHODS: Record<string, number>;
}
const C = require('undici/lib/llhttp/constants.js') as LlhttpConstants;

/** llhttp_errno values the relay acts on. */
export const LLHTTP = { OK: C.ERROR.OK!, PAUSED: C.ERROR.PAUSED!, PAUSED_UPGRADE: C.ERROR.PAUSED_UPGRADE! } as const;
export const PARSER_TYPE = { Request: C.TYPE.REQUEST, Response: C.TYPE.RESPONSE } as const;
/** Method names by llhttp method number, as bytes for the request line ("GET "). */
export const METHOD_BYTES: Buffer[] = [];
for (const [name, n] of Object.entries(C.METHODS)) METHOD_BYTES[n] = Buffer.from(`${name} `, 'latin1');
export const METHOD_HEAD = C.METHODS.HEAD!;

/**
 * What a parser calls back. Offsets index `chunk` (the Buffer given to `execute`); return 0 to
 * go on, `LLHTTP.PAUSED` to stop after this callback, and from onHeadersComplete 1 for "no body".
 * Callbacks must not call `execute` on any parser (the WASM input region is shared).
 */
export interface ParserHandler {
  onMessageBegin(): number;
  /** URL (requests) or reason phrase (responses): may come in several pieces. */
  onSpan(chunk: Buffer, start: number, len: number): number;
  onHeaderField(chunk: Buffer, start: number, len: number): number;
  onHeaderValue(chunk: Buffer, start: number, len: number): number;
  onHeadersComplete(statusCode: number, upgrade: boolean, keepAlive: boolean): number;
  onBody(chunk: Buffer, start: number, len: number): number;
  onMessageComplete(): number;
}

// The few WebAssembly globals used here (the project's TS lib has no DOM/WebAssembly types).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, (...args: number[]) => number>>) => { exports: unknown };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface LlhttpExports {
  memory: { buffer: ArrayBuffer };
  malloc(n: number): number;
  free(p: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(p: number): void;
  llhttp_execute(p: number, data: number, len: number): number;
  llhttp_resume(p: number): void;
  llhttp_finish(p: number): number;
  llhttp_get_error_pos(p: number): number;
  llhttp_get_error_reason(p: number): number;
  llhttp_get_method(p: number): number;
  llhttp_get_http_major(p: number): number;
  llhttp_get_http_minor(p: number): number;
  llhttp_get_status_code(p: number): number;
  llhttp_message_needs_eof(p: number): number;
}

// The parser running now and the chunk it parses; set around llhttp_execute only.
let current: ParserHandler | null = null;
let currentChunk: Buffer = Buffer.alloc(0);
let inputPtr = 0;
let inputSize = 0;
let inputView: Uint8Array | null = null;

function loadModule(): object {
  try {
    return new Wasm.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js') as Buffer);
  } catch {
    return new Wasm.Module(require('undici/lib/llhttp/llhttp-wasm.js') as Buffer);
  }
}

const instance = new Wasm.Instance(loadModule(), {
  env: {
    wasm_on_message_begin: (): number => current!.onMessageBegin(),
    wasm_on_url: (_p: number, at: number, len: number): number => current!.onSpan(currentChunk, at - inputPtr, len),
    wasm_on_status: (_p: number, at: number, len: number): number => current!.onSpan(currentChunk, at - inputPtr, len),
    wasm_on_header_field: (_p: number, at: number, len: number): number => current!.onHeaderField(currentChunk, at - inputPtr, len),
    wasm_on_header_value: (_p: number, at: number, len: number): number => current!.onHeaderValue(currentChunk, at - inputPtr, len),
    wasm_on_headers_complete: (_p: number, status: number, upgrade: number, keepAlive: number): number =>
      current!.onHeadersComplete(status, upgrade === 1, keepAlive === 1),
    wasm_on_body: (_p: number, at: number, len: number): number => current!.onBody(currentChunk, at - inputPtr, len),
    wasm_on_message_complete: (): number => current!.onMessageComplete(),
  },
});
const ll = instance.exports as unknown as LlhttpExports;

/** One llhttp_t (about 100 bytes of WASM memory). Call `free()` when its connection closes. */
export class Parser {
  readonly handler: ParserHandler;
  ptr: number;
  /** After `execute` returned PAUSED: offset in that chunk where parsing stopped. */
  stoppedAt: number;

  constructor(type: number, handler: ParserHandler) {
    this.handler = handler;
    this.ptr = ll.llhttp_alloc(type);
    this.stoppedAt = 0;
  }

  /**
   * Parses `chunk` (copied once into WASM memory), calling the handler synchronously. Returns an
   * llhttp_errno: OK, PAUSED (see `stoppedAt`), or an error (see `errorReason`). Not re-entrant.
   */
  execute(chunk: Buffer): number {
    if (chunk.length > inputSize) {
      if (inputPtr !== 0) ll.free(inputPtr);
      inputSize = Math.ceil(chunk.length / 16384) * 16384;
      inputPtr = ll.malloc(inputSize);
      inputView = null;
    }
    if (inputView === null || inputView.buffer !== ll.memory.buffer) inputView = new Uint8Array(ll.memory.buffer, inputPtr, inputSize);
    inputView.set(chunk);
    current = this.handler;
    currentChunk = chunk;
    let ret: number;
    try {
      ret = ll.llhttp_execute(this.ptr, inputPtr, chunk.length);
    } finally {
      current = null;
    }
    if (ret !== LLHTTP.OK) this.stoppedAt = ll.llhttp_get_error_pos(this.ptr) - inputPtr;
    return ret;
  }

  /** The peer closed: completes a close-delimited body (onMessageComplete). Returns an llhttp_errno. */
  finish(): number {
    current = this.handler;
    try {
      return ll.llhttp_finish(this.ptr);
    } finally {
      current = null;
    }
  }

  /** Resumes after PAUSED; the caller then executes the rest of the data. */
  resume(): void {
    ll.llhttp_resume(this.ptr);
  }

  method(): number {
    return ll.llhttp_get_method(this.ptr);
  }

  /** Status code of the response being parsed (valid from the status line on). */
  statusCode(): number {
    return ll.llhttp_get_status_code(this.ptr);
  }

  /** HTTP/1.0 or older: no keep-alive by default, no chunked framing. */
  isHttp10(): boolean {
    return ll.llhttp_get_http_major(this.ptr) === 1 && ll.llhttp_get_http_minor(this.ptr) === 0;
  }

  /** True when the message's body runs until the connection closes (no length, not chunked). */
  needsEof(): boolean {
    return ll.llhttp_message_needs_eof(this.ptr) === 1;
  }

  /** llhttp's reason for the last error, for log lines. */
  errorReason(): string {
    const p = ll.llhttp_get_error_reason(this.ptr);
    if (p === 0) return 'unknown';
    const mem = new Uint8Array(ll.memory.buffer);
    let end = p;
    while (mem[end] !== 0 && end - p < 200) end++;
    return Buffer.from(mem.subarray(p, end)).toString('latin1');
  }

  free(): void {
    if (this.ptr !== 0) ll.llhttp_free(this.ptr);
    this.ptr = 0;
  }
}
