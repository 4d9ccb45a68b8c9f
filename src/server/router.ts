// The compiled route table: first match wins, a route without match is the default.
// Built once per config generation; match() allocates nothing.

import type { RouteConfig } from '../config/types.ts';

interface CompiledRoute<T> {
  /** Exact host (lower-case), or null for any host. */
  readonly host: string | null;
  /** For "*.example.com": ".example.com"; null otherwise. */
  readonly hostSuffix: string | null;
  readonly pathPrefix: string | null;
  readonly target: T;
}

/** What a route matches on. */
export type RouteMatch = Pick<RouteConfig, 'host' | 'pathPrefix'>;

export class Router<T, R extends RouteMatch = RouteMatch> {
  private readonly routes: readonly CompiledRoute<T>[];

  /** `resolve` maps a route to its target (what match() returns for it). */
  constructor(routes: readonly R[], resolve: (route: R) => T) {
    this.routes = routes.map((r) => {
      const wildcard = r.host !== null && r.host.startsWith('*.');
      return {
        host: wildcard ? null : r.host,
        hostSuffix: wildcard ? r.host!.slice(1) : null,
        pathPrefix: r.pathPrefix,
        target: resolve(r),
      };
    });
  }

  /**
   * The target of the first route matching `host` (already lower-cased, port stripped) and
   * `path`, or undefined (answer 404). O(routes), allocates nothing.
   */
  match(host: string, path: string): T | undefined {
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (r.host !== null && r.host !== host) continue;
      if (r.hostSuffix !== null && !(host.endsWith(r.hostSuffix) && host.length > r.hostSuffix.length)) continue;
      if (r.pathPrefix !== null && !path.startsWith(r.pathPrefix)) continue;
      return r.target;
    }
    return undefined;
  }
}

/**
 * The host part of a Host header, lower-cased, without port: "API.example.com:8080" →
 * "api.example.com", "[::1]:80" → "[::1]". Allocates only when the input needs changing.
 */
export function hostname(hostHeader: string | undefined): string {
  if (hostHeader === undefined) return '';
  let end = hostHeader.length;
  if (hostHeader.charCodeAt(0) === 91 /* [ */) {
    const close = hostHeader.indexOf(']');
    end = close === -1 ? end : close + 1;
  } else {
    const colon = hostHeader.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  const h = end === hostHeader.length ? hostHeader : hostHeader.slice(0, end);
  return h.toLowerCase();
}
