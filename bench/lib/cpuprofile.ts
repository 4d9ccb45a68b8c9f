// Reads a V8 .cpuprofile (node --cpu-prof): self and inclusive time per function, and busy time
// by area (Fairway's src/, undici, node core, native calls, GC), so a report can say where CPU goes.

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  /** "handleRequest (src/server/handler.ts:27)" */
  name: string;
  ms: number;
  /** Share of busy time (the profile minus idle). */
  pct: number;
}

export interface ProfileSummary {
  /** Profiled time, and the part that was not idle. */
  totalMs: number;
  busyMs: number;
  /** Busy time by area, largest first. */
  byArea: HotFunction[];
  /** Top functions by self time, anywhere. */
  top: HotFunction[];
  /** Top functions by self time inside src/. */
  topInSrc: HotFunction[];
  /** Top functions inside src/ by inclusive time (self + everything they call). */
  topInSrcInclusive: HotFunction[];
  /** Busy time by kind of work (parser, head building, streams, socket syscalls, timers, GC …), largest first. */
  byKind: HotFunction[];
  /** The part of the profile summarized, ms (the whole profile when no window was given). */
  windowMs: number;
}

export interface SummarizeOptions {
  /** Rows per table. */
  n?: number;
  /**
   * Only samples taken `lengthUs` long, ending `endOffsetUs` before the profile's end (which is
   * the process's exit): the measured load run, without start-up and warm-up.
   */
  window?: { endOffsetUs: number; lengthUs: number };
}

/** Kinds of work, for `byKind`. */
export const KIND = {
  socketIo: 'socket syscalls (native write/writev/read, incl. loopback delivery)',
  parser: 'HTTP parsing (llhttp native or WASM, parser callbacks)',
  head: 'header objects and head building (http outgoing/incoming, undici headers, relay head writer)',
  streams: 'stream, socket and event machinery (node:net, streams, events, stream_base)',
  timers: 'timers and ticks (timers, nextTick, setImmediate, undici fast timers)',
  gc: 'garbage collector',
  program: 'V8 / runtime (program)',
  undici: 'undici dispatcher (pool, client, request/handler)',
  http: 'node:http request/response objects (server, agent, rest of _http_*)',
  src: 'Fairway src/',
  bench: 'bench peer code (relay, undici-dispatch handler)',
  other: 'other (module loading, other dependencies, other natives)',
} as const;

const SOCKET_NATIVES = new Set(['writev', 'writeBuffer', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString', 'writeUcs2String', 'read', 'readStart', 'readStop', 'shutdown', 'close', 'setNoDelay', 'getpeername', 'getsockname']);

/** Kind of a JS frame by its URL and name; null for native frames (decided by name or caller). */
function kindOfJs(url: string, fn: string, srcPrefix: string): string | null {
  if (url === '') return null;
  if (url.startsWith('wasm://')) return KIND.parser;
  if (url.startsWith(srcPrefix)) return KIND.src;
  if (url.includes('/node_modules/undici/')) {
    if (url.endsWith('/client-h1.js') && /^(execute|readMore|on(Status|HeaderField|HeaderValue|HeadersComplete|Body|MessageComplete|MessageBegin|Upgrade)|trackHeader|wasm_on_\w+)$/.test(fn)) return KIND.parser;
    if (url.endsWith('/llhttp/constants.js')) return KIND.parser;
    if (url.endsWith('/core/util.js') && /header/i.test(fn)) return KIND.head;
    if (url.endsWith('/core/request.js') && /header/i.test(fn)) return KIND.head;
    if (url.endsWith('/util/timers.js')) return KIND.timers;
    return KIND.undici;
  }
  if (url.includes('/bench/e2e/peers/relay-llhttp')) return KIND.parser;
  if (url.includes('/bench/e2e/peers/relay-head')) return KIND.head;
  if (url.includes('/bench/e2e/peers/')) return KIND.bench;
  if (url === 'node:_http_common') return KIND.parser;
  if (url === 'node:_http_outgoing' || url === 'node:_http_incoming') return KIND.head;
  if (url.startsWith('node:_http_')) return /header/i.test(fn) ? KIND.head : KIND.http;
  if (url === 'node:internal/timers' || url === 'node:timers' || url === 'node:internal/process/task_queues') return KIND.timers;
  if (url === 'node:net' || url === 'node:events' || url.startsWith('node:internal/streams/') || url === 'node:internal/stream_base_commons' || url === 'node:stream') return KIND.streams;
  return KIND.other;
}

/** Kind of the sample whose leaf is `leaf`: natives by name, else by their nearest JS caller. */
function kindOf(leaf: ProfileNode, parentOf: (n: ProfileNode) => ProfileNode | undefined, srcPrefix: string): string {
  const cf = leaf.callFrame;
  if (cf.url === '') {
    if (cf.functionName === '(garbage collector)') return KIND.gc;
    if (cf.functionName === '(program)' || cf.functionName === '(root)') return KIND.program;
    if (SOCKET_NATIVES.has(cf.functionName)) return KIND.socketIo;
    if (cf.functionName === 'execute' || cf.functionName === 'wasm-to-js' || cf.functionName === 'js-to-wasm') return KIND.parser;
  }
  for (let n: ProfileNode | undefined = leaf; n !== undefined; n = parentOf(n)) {
    const k = kindOfJs(n.callFrame.url, n.callFrame.functionName, srcPrefix);
    if (k !== null) return k;
  }
  return KIND.other;
}

const IDLE = '(idle)';

/** Area of a call frame: what the time is spent on, broadly. */
function areaOf(url: string, fn: string, srcPrefix: string): string {
  if (url === '') {
    if (fn === '(garbage collector)') return 'garbage collector';
    if (fn === '(program)' || fn === '(root)') return 'V8 / runtime (program)';
    if (fn === IDLE) return IDLE;
    return 'native calls (socket writes/reads: writev, writeLatin1String, …)';
  }
  if (url.startsWith(srcPrefix)) return 'Fairway src/';
  if (url.includes('/node_modules/undici/')) return 'undici';
  if (url.includes('/node_modules/')) return 'other dependencies (pino, …)';
  if (url.startsWith('node:')) return 'node core JS (http, net, streams, timers)';
  return 'other JS';
}

/**
 * Summarizes a .cpuprofile file. `srcPrefix` and `repoPrefix` are file:// URL prefixes; names are
 * shown relative to the repository. O(samples × stack depth).
 */
export function summarizeProfile(file: string, srcPrefix: string, repoPrefix: string, opts: SummarizeOptions = {}): ProfileSummary {
  const n = opts.n ?? 15;
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of p.nodes) {
    byId.set(node.id, node);
    for (const c of node.children ?? []) parent.set(c, node.id);
  }
  const nameOf = (node: ProfileNode): string => {
    const cf = node.callFrame;
    const where = cf.url === '' ? '' : ` (${cf.url.startsWith(repoPrefix) ? cf.url.slice(repoPrefix.length) : cf.url.replace(/^file:\/\//, '')}:${cf.lineNumber + 1})`;
    return `${cf.functionName === '' ? '(anonymous)' : cf.functionName}${where}`;
  };

  // Time per sample: timeDeltas[i + 1] is the gap after sample i (the DevTools convention).
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const self = new Map<string, number>();
  const inclusiveSrc = new Map<string, number>();
  const area = new Map<string, number>();
  const kind = new Map<string, number>();
  const parentOf = (node: ProfileNode): ProfileNode | undefined => {
    const id = parent.get(node.id);
    return id === undefined ? undefined : byId.get(id);
  };
  // Sample i is taken at startTime + deltas[0..i]; keep those inside the window, if any.
  let lo = -Infinity;
  let hi = Infinity;
  if (opts.window !== undefined) {
    hi = p.endTime - opts.window.endOffsetUs;
    lo = hi - opts.window.lengthUs;
  }
  let at = p.startTime;
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    const dt = Math.max(0, deltas[i + 1] ?? 0);
    const leaf = byId.get(samples[i]!);
    if (leaf === undefined || at < lo || at > hi) continue;
    totalUs += dt;
    const leafName = nameOf(leaf);
    if (leaf.callFrame.functionName === IDLE) {
      idleUs += dt;
      continue;
    }
    self.set(leafName, (self.get(leafName) ?? 0) + dt);
    const a = areaOf(leaf.callFrame.url, leaf.callFrame.functionName, srcPrefix);
    area.set(a, (area.get(a) ?? 0) + dt);
    const k = kindOf(leaf, parentOf, srcPrefix);
    kind.set(k, (kind.get(k) ?? 0) + dt);
    // Inclusive: each src/ function on this stack once (recursion counted once).
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id)!;
      if (!node.callFrame.url.startsWith(srcPrefix)) continue;
      const name = nameOf(node);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusiveSrc.set(name, (inclusiveSrc.get(name) ?? 0) + dt);
    }
  }
  const busyUs = totalUs - idleUs;
  const list = (m: Map<string, number>, filter: (name: string) => boolean = () => true): HotFunction[] =>
    [...m]
      .filter(([name]) => filter(name))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: busyUs === 0 ? 0 : (us / busyUs) * 100 }));
  const srcRel = srcPrefix.startsWith(repoPrefix) ? srcPrefix.slice(repoPrefix.length) : srcPrefix;
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    byArea: list(area),
    top: list(self),
    topInSrc: list(self, (name) => name.includes(`(${srcRel}`)),
    topInSrcInclusive: list(inclusiveSrc),
    byKind: [...kind].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, pct: busyUs === 0 ? 0 : (us / busyUs) * 100 })),
    windowMs: totalUs / 1000,
  };
}
