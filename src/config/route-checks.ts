// Rules across the keys of `routes`: each route names an existing pool, is reachable (no
// earlier route takes every request it matches), and rewrites a path only where it matched a
// prefix. Like checks.ts, each rule reads only the keys it needs, each parsed on its own.

import { formatKeyPath, suggestion, type PathIssue } from './errors.ts';
import { isRecord, parseFields } from './partial.ts';
import { routeSchema } from './route-schema.ts';

interface Match {
  readonly host: string | null;
  readonly pathPrefix: string | null;
}

/** True when every request `later` matches is already taken by `earlier` (first match wins). */
function shadows(earlier: Match, later: Match): boolean {
  return hostCovers(earlier.host, later.host) && prefixCovers(earlier.pathPrefix, later.pathPrefix);
}

function hostCovers(earlier: string | null, later: string | null): boolean {
  if (earlier === null || earlier === later) return true;
  if (later === null) return false;
  // "*.example.com" surely takes "api.example.com" (one label more); deeper names and
  // wildcard-versus-wildcard depend on the router's rules, so they are not judged here.
  if (earlier.startsWith('*.') && !later.startsWith('*.')) {
    const suffix = earlier.slice(1);
    return later.endsWith(suffix) && !later.slice(0, -suffix.length).includes('.') && later.length > suffix.length;
  }
  return false;
}

function prefixCovers(earlier: string | null, later: string | null): boolean {
  if (earlier === null || earlier === later) return true;
  if (later === null || !later.startsWith(earlier)) return false;
  // Covered whether the router compares raw prefixes or whole path segments.
  return earlier.endsWith('/') || later[earlier.length] === '/';
}

function describeMatch(m: Match): string {
  if (m.host === null && m.pathPrefix === null) return 'has no match and takes every request';
  const parts = [m.host === null ? null : `host ${m.host}`, m.pathPrefix === null ? null : `pathPrefix ${m.pathPrefix}`];
  return `(${parts.filter((p) => p !== null).join(', ')}) takes every request this route matches`;
}

/**
 * Problems of `routes`: unknown pools (with a hint), routes made unreachable by an earlier one,
 * rewrites without a matched prefix; `routes` absent with several pools.
 */
export function checkRoutes(rawRoutes: unknown, poolNames: readonly string[] | undefined, issues: PathIssue[]): void {
  if (rawRoutes === undefined) {
    if (poolNames !== undefined && poolNames.length > 1) {
      issues.push({
        path: ['routes'],
        message: `required when more than one pool is defined (pools: ${poolNames.join(', ')}); add a route without match as the default`,
      });
    }
    return;
  }
  if (!Array.isArray(rawRoutes)) return;
  const earlier: { index: number; match: Match }[] = [];
  rawRoutes.forEach((item: unknown, i) => {
    if (!isRecord(item)) return;
    // With no pools at all, that is the one problem to report (the schema does).
    const pool = parseFields(routeSchema, item, ['pool'])?.pool;
    if (pool !== undefined && poolNames !== undefined && poolNames.length > 0 && !poolNames.includes(pool)) {
      const hint = suggestion(pool, poolNames) || ` (pools: ${poolNames.join(', ')})`;
      issues.push({ path: ['routes', i, 'pool'], message: `unknown pool '${pool}'${hint}` });
    }
    // The match is known when it is valid (or absent, with no unknown key that could be it
    // misspelled). A route whose match is not known is still unreachable after a catch-all.
    const known = parseFields(routeSchema, item, ['match']);
    const match: Match | undefined = known && { host: known.match?.host?.toLowerCase() ?? null, pathPrefix: known.match?.pathPrefix ?? null };
    const shadow = earlier.find((e) => (match === undefined ? e.match.host === null && e.match.pathPrefix === null : shadows(e.match, match)));
    if (shadow) {
      issues.push({
        path: ['routes', i],
        message: `unreachable: ${formatKeyPath(['routes', shadow.index])} ${describeMatch(shadow.match)}; put more specific routes first`,
      });
    }
    if (match !== undefined) earlier.push({ index: i, match });
    const rewrite = parseFields(routeSchema, item, ['rewrite'])?.rewrite;
    if (rewrite !== undefined && match !== undefined && match.pathPrefix === null) {
      issues.push({
        path: ['routes', i, 'rewrite'],
        message: 'needs match.pathPrefix on this route: rewrite.pathPrefix replaces the part of the path that match.pathPrefix matched',
        at: 'key',
      });
    }
  });
}
