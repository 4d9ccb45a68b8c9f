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
 * Whether the path part of `target` (origin form; the query is not looked at) has a `.` or `..`
 * segment, plain or percent-encoded (`%2e`). A rewrite puts the rest of the path under a new
 * prefix; an upstream that resolves such a segment would take the request out of that prefix
 * (`/sub/../../admin` → `/v2/../../admin` → `/admin`), so a rewriting route refuses it (nginx
 * resolves them before matching; browsers and curl never send them). O(path), allocates nothing.
 */
export function hasDotSegment(target: string): boolean {
  const q = target.indexOf('?');
  const end = q === -1 ? target.length : q;
  let dots = 0;
  let other = false;
  for (let i = 1; i <= end; i++) {
    const c = i === end ? 47 : target.charCodeAt(i);
    if (c === 47 /* / */) {
      if (!other && (dots === 1 || dots === 2)) return true;
      dots = 0;
      other = false;
    } else if (c === 46 /* . */) {
      dots++;
    } else if (c === 37 /* % */ && i + 2 < end && target.charCodeAt(i + 1) === 50 /* 2 */ && (target.charCodeAt(i + 2) | 32) === 101 /* e */) {
      dots++;
      i += 2;
    } else {
      other = true;
    }
  }
  return false;
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
