// A route as the pipeline uses it: its pool, and what it changes on the way (path prefix
// rewrite, header rules), compiled once per config generation so a request does no config
// parsing. The header functions are pure and allocate only when a route has rules.

import type { HeaderRules, RouteConfig } from '../config/types.ts';
import type { Pool } from '../pool/pool.ts';
import type { CompiledRules } from '../proxy/headers.ts';

/** A compiled route: what router.match() returns. Frozen; shared by every request on it. */
export interface Route {
  readonly pool: Pool;
  /** The matched prefix the rewrite replaces; null = no rewrite. */
  readonly rewriteFrom: string | null;
  readonly rewriteTo: string;
  /** Rules for the request sent upstream; null = none. */
  readonly requestHeaders: CompiledRules | null;
  /** Rules for the response to the client, proxy-produced errors included; null = none. */
  readonly responseHeaders: CompiledRules | null;
}

function compileRules(rules: HeaderRules | null): CompiledRules | null {
  if (rules === null || (rules.set.length === 0 && rules.remove.length === 0)) return null;
  const drop = new Set<string>(rules.remove);
  const add: string[] = [];
  for (const [name, value] of rules.set) {
    drop.add(name);
    add.push(name, value);
  }
  return Object.freeze({ drop, add: Object.freeze(add) });
}

/** Compiles one route of the config for its pool. Off the hot path. */
export function compileRoute(r: RouteConfig, pool: Pool): Route {
  const rewrite = r.rewritePathPrefix !== null && r.pathPrefix !== null;
  return Object.freeze({
    pool,
    rewriteFrom: rewrite ? r.pathPrefix : null,
    rewriteTo: r.rewritePathPrefix ?? '/',
    requestHeaders: compileRules(r.requestHeaders),
    responseHeaders: compileRules(r.responseHeaders),
  });
}

/**
 * `path` (origin form, query included) with the matched prefix `from` replaced by `to`, as
 * `@fastify/http-proxy`'s rewritePrefix and nginx `proxy_pass …/` do: `/api/users?x=1` with
 * /api → / gives `/users?x=1`. The result always starts with `/` and never with `//`.
 * O(path), allocates the new path.
 */
export function rewritePath(path: string, from: string, to: string): string {
  let rest = path.slice(from.length);
  if (to.endsWith('/') && rest.charCodeAt(0) === 47 /* / */) rest = rest.slice(1);
  let out = to + rest;
  if (out.charCodeAt(0) !== 47) out = `/${out}`;
  while (out.charCodeAt(1) === 47) out = out.slice(1);
  return out;
}
