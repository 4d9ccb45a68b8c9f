// The access log: one line per request (JSON or Apache/nginx "combined"), written when the
// response completes or the client goes away. Writes are buffered and asynchronous (sonic-boom,
// pino's destination): the request path never waits on the disk, a full disk or a deleted file
// never stops the proxy (lines beyond a bounded buffer are dropped and counted), and reopen()
// (SIGUSR1) starts a new file after rotation. Nothing here runs when the log is off.

import sonicBoom from 'sonic-boom';

// sonic-boom is CommonJS: its class is the module itself (and its `SonicBoom` property), which
// Node's ESM loader offers as the default export only.
const { SonicBoom } = sonicBoom;
type SonicBoom = InstanceType<typeof SonicBoom>;
import type { AccessLogConfig } from '../config/types.ts';
import type { Logger } from './log.ts';

/** Unwritten bytes kept before new lines are dropped (a stuck or full disk). */
const MAX_BUFFER_BYTES = 8 * 1024 * 1024;
/** Bytes gathered before a write is issued; the periodic flush writes the rest. */
const MIN_WRITE_BYTES = 4096;
const FLUSH_EVERY_MS = 1000;

/** One finished request, as the pipeline knows it at its end. */
export interface AccessRecord {
  readonly client: string;
  readonly method: string;
  readonly host: string | null;
  readonly path: string;
  /** HTTP version × 10 (10, 11, 20). */
  readonly version: number;
  readonly status: number;
  /** Response body bytes sent to the client. */
  readonly bytes: number;
  readonly durationMs: number;
  readonly pool: string | null;
  /** Origin of the last try, or null when no try was made. */
  readonly upstream: string | null;
  readonly tries: number;
  /** The x-fairway-error code, or null. */
  readonly error: string | null;
  readonly traceId: string | null;
  /** For the combined format only. */
  readonly referer: string | null;
  readonly userAgent: string | null;
}

const PROTOCOLS: Readonly<Record<number, string>> = { 10: 'HTTP/1.0', 11: 'HTTP/1.1', 20: 'HTTP/2' };

function protocolOf(version: number): string {
  return PROTOCOLS[version] ?? `HTTP/${Math.floor(version / 10)}.${version % 10}`;
}

function str(v: string | null): string {
  return v === null ? 'null' : JSON.stringify(v);
}

/** A JSON line with the spec's fields, in a fixed order. */
export function formatJson(r: AccessRecord, now: Date): string {
  return (
    `{"time":"${now.toISOString()}","client":${JSON.stringify(r.client)},"method":${JSON.stringify(r.method)},` +
    `"host":${str(r.host)},"path":${JSON.stringify(r.path)},"protocol":"${protocolOf(r.version)}","status":${r.status},` +
    `"bytes":${r.bytes},"durationMs":${Math.round(r.durationMs * 1000) / 1000},"pool":${str(r.pool)},` +
    `"upstream":${str(r.upstream)},"tries":${r.tries},"error":${str(r.error)},"traceId":${str(r.traceId)}}\n`
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `[10/Oct/2000:13:55:36 +0000]`, in UTC. */
function clfTime(d: Date): string {
  return `[${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000]`;
}

/** A quoted field of the combined format: `"` and `\` escaped, control characters as \xHH, `-` when absent. */
function quoted(v: string | null): string {
  if (v === null) return '"-"';
  // eslint-disable-next-line no-control-regex
  return `"${v.replace(/[\\"\x00-\x1f\x7f]/g, (c) => (c === '"' || c === '\\' ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))}"`;
}

/** Apache/nginx "combined": `client - - [time] "METHOD path PROTOCOL" status bytes "referer" "user-agent"`. */
export function formatCombined(r: AccessRecord, now: Date): string {
  const request = quoted(`${r.method} ${r.path} ${protocolOf(r.version)}`);
  return `${r.client} - - ${clfTime(now)} ${request} ${r.status} ${r.bytes === 0 ? '-' : r.bytes} ${quoted(r.referer)} ${quoted(r.userAgent)}\n`;
}

/** An open access log. */
export class AccessLog {
  readonly config: AccessLogConfig;
  /** Lines written to the buffer, lines dropped (buffer full), write errors seen. */
  written: number;
  dropped: number;
  errors: number;
  private readonly dest: SonicBoom;
  private readonly format: (r: AccessRecord, now: Date) => string;
  private readonly log: Logger;
  private lastErrorLoggedAt: number;

  constructor(config: AccessLogConfig, log: Logger) {
    this.config = config;
    this.log = log;
    this.written = 0;
    this.dropped = 0;
    this.errors = 0;
    this.lastErrorLoggedAt = 0;
    this.format = config.format === 'combined' ? formatCombined : formatJson;
    const target = config.path === 'stdout' ? 1 : config.path === 'stderr' ? 2 : config.path;
    this.dest = new SonicBoom({
      ...(typeof target === 'number' ? { fd: target } : { dest: target }),
      append: true,
      mkdir: false,
      sync: false,
      minLength: MIN_WRITE_BYTES,
      maxLength: MAX_BUFFER_BYTES,
      periodicFlush: FLUSH_EVERY_MS,
    });
    this.dest.on('drop', () => this.dropped++);
    this.dest.on('error', (err: NodeJS.ErrnoException) => this.onError(err));
  }

  /** Formats and buffers one line. Never throws, never waits. */
  write(r: AccessRecord): void {
    this.written++;
    try {
      this.dest.write(this.format(r, new Date()));
    } catch (err) {
      this.onError(err as NodeJS.ErrnoException);
    }
  }

  /** Opens the file again at its path (after rotation: SIGUSR1). */
  reopen(): void {
    if (typeof this.config.path !== 'string' || this.config.path === 'stdout' || this.config.path === 'stderr') return;
    try {
      this.dest.reopen();
      this.log.info({ path: this.config.path }, 'access log reopened');
    } catch (err) {
      this.onError(err as NodeJS.ErrnoException);
    }
  }

  /** Writes what is buffered and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if ((this.dest as unknown as { destroyed: boolean }).destroyed) {
        resolve();
        return;
      }
      this.dest.once('close', () => resolve());
      this.dest.once('error', () => resolve());
      this.dest.end();
    });
  }

  /** A failed write or open: counted; logged at most once a minute so a full disk cannot flood stderr. */
  private onError(err: NodeJS.ErrnoException): void {
    this.errors++;
    const now = Date.now();
    if (now - this.lastErrorLoggedAt < 60_000) return;
    this.lastErrorLoggedAt = now;
    this.log.error({ err: err.message, code: err.code, path: this.config.path }, 'access log write failed; requests are still served');
  }
}
