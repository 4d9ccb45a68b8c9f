// The keys a reload cannot apply to a running process: what is bound or fixed at start (listen
// addresses, the admin server and its token, the number of workers, the client-facing limits
// node:http takes at creation). A reload that changes them still applies everything else; this
// module only names them, so the operator is told instead of left to guess.

import type { Config } from './types.ts';

/**
 * The config keys that differ between `running` and `next` but take effect only at the next
 * restart, e.g. `['admin.token', 'workers']`; empty when there are none. Off the hot path: once
 * per reload, O(listeners).
 */
export function restartOnlyChanges(running: Config, next: Config): string[] {
  const changed: string[] = [];
  const addresses = (c: Config): string => c.listen.map((a) => `${a.host}:${a.port}:${a.tls === null ? 'http' : 'https'}`).join(',');
  if (addresses(running) !== addresses(next)) changed.push('listen');
  const a = running.admin;
  const b = next.admin;
  if ((a === null) !== (b === null) || (a !== null && b !== null && (a.listen.host !== b.listen.host || a.listen.port !== b.listen.port))) changed.push('admin.listen');
  else if (a !== null && b !== null && a.token !== b.token) changed.push('admin.token');
  if (running.workers !== next.workers) changed.push('workers');
  const s = running.server;
  const t = next.server;
  if (s.headersTimeoutMs !== t.headersTimeoutMs) changed.push('server.headersTimeout');
  if (s.requestTimeoutMs !== t.requestTimeoutMs) changed.push('server.requestTimeout');
  if (s.keepAliveTimeoutMs !== t.keepAliveTimeoutMs) changed.push('server.keepAliveTimeout');
  if (s.maxHeaderBytes !== t.maxHeaderBytes) changed.push('server.maxHeaderSize');
  return changed;
}
