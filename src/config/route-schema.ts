// The shape of one entry of `routes` as written: what it matches, its pool, the path rewrite
// and the header rules, with the rules on header names and values that need no other key.
// Rules across keys (rewrite needs match.pathPrefix, unknown pools, shadowing) are checks.ts's.

import * as z from 'zod';
import { HOP_BY_HOP } from '../proxy/headers.ts';
import { checkedString, expected, matching, parsed } from './fields.ts';
import { TOKEN_PATTERN, UnitError, showValue } from './units.ts';

const hostPattern = /^(?:\*\.)?(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$|^\[[0-9A-Fa-f:.]+\]$/;

function hostMessage(s: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return `must be a host name, not a URL (got ${showValue(s)})`;
  if (/:\d+$/.test(s) && !s.startsWith('[')) return `must not include a port; the port of the Host header is ignored (got ${showValue(s)})`;
  if (s === '*') return "'*' is not needed: leave out host to match any host";
  if (s.includes('*')) return `only a leading '*.' wildcard is allowed, as in *.example.com (got ${showValue(s)})`;
  return `must be a host name like api.example.com or *.example.com (got ${showValue(s)})`;
}

/** A path prefix: starts with /, no query, fragment or whitespace. */
function pathPrefix() {
  return matching(/^\/[^\s?#]*$/, (s) => `must be a path starting with / (no query or fragment), e.g. /v1 (got ${showValue(s)})`);
}

/**
 * Why a route may not set or remove `name`, or undefined when it may. Hop-by-hop headers are
 * the proxy's to remove (RFC 9110 §7.6.1), Host reaches the upstream unchanged, and
 * Content-Length frames the body: changing any of them would make the message ambiguous.
 */
function untouchable(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (HOP_BY_HOP.has(lower)) return `'${name}' is a hop-by-hop header (RFC 9110 §7.6.1): the proxy removes it; a route cannot set or remove it`;
  if (lower === 'host') return `'${name}' reaches the upstream unchanged; a route cannot set or remove it`;
  if (lower === 'content-length') return `'${name}' frames the body; a route cannot set or remove it`;
  return undefined;
}

function checkHeaderName(s: string): void {
  if (!TOKEN_PATTERN.test(s)) throw new UnitError(`${showValue(s)} is not a valid header name (letters, digits and !#$%&'*+-.^_\`|~ only)`);
  const why = untouchable(s);
  if (why !== undefined) throw new UnitError(why);
}

const headerNameWhat = 'a header name';

/**
 * A header name as a key of `set`. Keys are never `${VAR}`-expanded, so the JSON Schema keeps
 * this pattern strict (json-schema.ts leaves it alone).
 */
export const headerNameKey = checkedString(headerNameWhat, TOKEN_PATTERN, checkHeaderName);

/** Bytes node:http refuses in a header value (anything but HTAB, visible ASCII, space and Latin-1). */
const INVALID_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

const headerValue = z
  .union([z.string(), z.number(), z.boolean()], { error: expected('a header value') })
  .transform(
    parsed((v: string | number | boolean): string => {
      const s = String(v);
      const bad = INVALID_VALUE_CHAR.exec(s)?.[0];
      if (bad === undefined) return s;
      if (bad.charCodeAt(0) > 0xff) throw new UnitError(`must hold only Latin-1 characters (got ${JSON.stringify(s)})`);
      throw new UnitError(`must not contain CR, LF, NUL or other control characters (got ${JSON.stringify(s)})`);
    }),
  );

/** `routes[].headers.request` and `.response`: set and remove, checked against each other. */
export const headerRulesSchema = z
  .strictObject({
    set: z
      .record(headerNameKey, headerValue, {
        error: (issue) => (issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? 'invalid header name') : undefined),
      })
      .optional()
      .describe('Headers to replace or add: name -> value (names are case-insensitive)'),
    remove: z.array(checkedString(headerNameWhat, TOKEN_PATTERN, checkHeaderName)).optional().describe('Headers to drop'),
  })
  .superRefine((rules, ctx) => {
    const setNames = new Map<string, string>();
    for (const name of Object.keys(rules.set ?? {})) {
      const first = setNames.get(name.toLowerCase());
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['set', name], message: `'${name}' is set twice (also as '${first}'; names are case-insensitive)` });
      else setNames.set(name.toLowerCase(), name);
    }
    (rules.remove ?? []).forEach((name, i) => {
      const set = setNames.get(name.toLowerCase());
      if (set !== undefined) ctx.addIssue({ code: 'custom', path: ['remove', i], message: `'${name}' is both set (as '${set}') and removed` });
    });
  })
  .describe('Header changes: set replaces a header (or adds it), remove drops it');

/** One entry of `routes`. */
export const routeSchema = z.strictObject({
  match: z.strictObject({
    host: matching(hostPattern, hostMessage).describe('Exact host, case-insensitive, port ignored; a leading "*." matches subdomains'),
    pathPrefix: pathPrefix().describe('Matches paths that start with this prefix'),
  })
    .partial()
    .optional()
    .describe('What the route matches; absent = every request'),
  pool: z.string().min(1).describe('Name of the pool that serves the matched requests'),
  rewrite: z.strictObject({
    pathPrefix: pathPrefix().describe('Replaces the part of the path that match.pathPrefix matched; the query string is kept'),
  })
    .optional()
    .describe('What the upstream sees instead of the client\'s path; needs match.pathPrefix'),
  headers: z.strictObject({
    request: headerRulesSchema.optional().describe('Changes to the request sent upstream'),
    response: headerRulesSchema.optional().describe('Changes to the response sent to the client, proxy-made errors included'),
  })
    .optional()
    .describe('Header changes on this route; hop-by-hop headers, Host and Content-Length cannot be touched'),
});
