// fast-check generators of hostile HTTP/1.x requests for the edge fuzzer: request lines, Host
// and other fields, body framings (Content-Length, Transfer-Encoding and their ambiguous mixes)
// and chunked bodies, each valid, near-valid or plainly hostile, sometimes with a second request
// (target /canary) pipelined behind. A case is the bytes one client connection sends.

import fc from 'fast-check';

export interface FuzzCase {
  /** Everything the client sends, latin1. */
  bytes: string;
  /** Where the bytes are cut into separate writes (offsets), to exercise the parser's resumption. */
  cuts: number[];
  /** A short label of the shapes used, for failure reports. */
  label: string;
}

const weighted = <T>(...pairs: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> =>
  fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));
const c = <T>(...values: T[]): fc.Arbitrary<T> => fc.constantFrom(...values);

const method = weighted<string>([8, c('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS')], [1, c('get', 'FOO', 'GET ', 'PRI', 'CONNECT')]);

const target = weighted<string>(
  [8, c('/', '/a', '/a/b?c=d', '/x%20y', '/%2e%2e/etc', '/x\\y')],
  [1, c('*', 'http://a/x', 'http://A/x', 'http://other.example/x', 'https://a', 'http://u@a/x', 'a:80', 'x', '/x#frag', '')],
  [1, fc.integer({ min: 8180, max: 8200 }).map((n) => `/${'t'.repeat(n)}`)],
);

const version = weighted<string>(
  [10, c(' HTTP/1.1')],
  [2, c(' HTTP/1.0')],
  [1, c(' HTTP/2.0', ' HTTP/1.2', ' HTTP/0.9', ' HTTP/3.0', ' http/1.1', ' HTTP/1.1 ', '', ' HTTP/11.1')],
);

const hostLine = weighted<string[]>(
  [10, c(['Host: a'], ['Host: a:80'], ['host: A'], ['Host: [::1]:8080'])],
  [2, c([], ['Host:'], ['Host: a b'], ['Host: a/b'], ['Host: a@b'], ['Host: a:b'], ['Host: a, b'], ['Host: a', 'Host: b'], ['Host: a', 'Host: a'], ['Host: a\xffb'], ['Host :a'])],
);

const fieldValue = weighted<string>(
  [12, c('1', 'text/plain', 'gzip, br', 'a=b; c=d', '')],
  [1, c('a\xffb', ' padded ', 'a\tb', 'a\x00b', 'a\x7fb', 'a\rb')],
);

const otherField = weighted<string>(
  [10, fc.tuple(c('Accept', 'User-Agent', 'Cookie', 'X-Test', 'Cache-Control', 'Authorization'), fieldValue).map(([n, v]) => `${n}: ${v}`)],
  [3, c(
    'Connection: close',
    'Connection: keep-alive',
    'Connection: close, X-Forwarded-For, Host, X-Forwarded-Proto, X-Forwarded-Host',
    'Connection: Content-Length',
    'Connection: Transfer-Encoding',
    'Connection: X-Test',
    'X-Forwarded-For: 1.2.3.4',
    'X-Forwarded-Host: evil',
    'Keep-Alive: timeout=5',
    'TE: trailers',
    'Trailer: X-T',
    'Proxy-Connection: keep-alive',
  )],
  [2, c(
    'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA',
    'Upgrade: websocket',
    'Upgrade: foo\r\nConnection: Upgrade',
  )],
  [1, c('X A: 1', 'X-A:\r\n folded', ': empty', 'NoColon', 'X\xffA: 1')],
);

/** Many filler fields around the 100-field limit. */
const manyFields = fc.integer({ min: 95, max: 105 }).map((n) => Array.from({ length: n }, (_, i) => `x${i}: 1`));

interface Body {
  fields: string[];
  body: string;
  label: string;
}

const payload = fc.string({ unit: c('a', 'b', 'Z', '0', '\r', '\n', ' '), maxLength: 24 });

/** One chunk-size line: mostly right, sometimes wrong in the ways llhttp refuses or tolerates. */
const chunkLine = (size: number): fc.Arbitrary<string> =>
  weighted<string>(
    [10, fc.constant(`${size.toString(16)}\r\n`)],
    [3, c(`${size.toString(16).toUpperCase()}\r\n`, `000${size.toString(16)}\r\n`, `${size.toString(16)};ext=1\r\n`, `${size.toString(16)};e="q"\r\n`)],
    [2, c(`${size.toString(16)} \r\n`, ` ${size.toString(16)}\r\n`, `${size.toString(16)};\r\n`, `${size.toString(16)}\n`, `0x${size.toString(16)}\r\n`, `-${size}\r\n`, 'zz\r\n', `${(size + 1).toString(16)}\r\n`, 'fffffffffffffffff\r\n')],
  );

const chunkedBody = fc
  .array(payload.filter((p) => p.length > 0), { maxLength: 3 })
  .chain((parts) =>
    fc.tuple(
      fc.tuple(...parts.map((p) => chunkLine(p.length).map((line) => `${line}${p}\r\n`))),
      weighted<string>([8, c('0\r\n\r\n')], [2, c('0\r\nX-T: 1\r\n\r\n', '0\r\nContent-Length: 3\r\n\r\n', '0\r\n', '', '0\n\n', '0\r\n\r\nEXTRA')]),
    ),
  )
  .map(([chunks, last]) => chunks.join('') + last);

const te = weighted<string[]>(
  [8, c(['Transfer-Encoding: chunked'])],
  [3, c(['Transfer-Encoding: Chunked'], ['Transfer-Encoding: gzip, chunked'], ['Transfer-Encoding: identity, chunked'], ['Transfer-Encoding: , chunked'], ['Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'], ['Transfer-Encoding: chunked, chunked'], ['Transfer-Encoding: identity'], ['Transfer-Encoding: chunked;q=1'], ['Transfer_Encoding: chunked'], ['Transfer-Encoding : chunked'], ['Transfer-Encoding:\r\n chunked'])],
);

const body = weighted<Body>(
  [6, fc.constant({ fields: [], body: '', label: 'no body' })],
  [5, payload.map((p) => ({ fields: [`Content-Length: ${p.length}`], body: p, label: 'CL' }))],
  [3, fc.tuple(payload, c(-3, -1, 1, 5)).map(([p, d]) => ({ fields: [`Content-Length: ${Math.max(0, p.length + d)}`], body: p, label: `CL off by ${d}` }))],
  [3, fc.tuple(payload, c((n: number) => [`Content-Length: ${n}`, `Content-Length: ${n}`], (n: number) => [`Content-Length: ${n}, ${n}`], (n: number) => [`Content-Length: +${n}`], (n: number) => [`Content-Length: ${n}`, 'Content-Length: 0'], (n: number) => [`Content_Length: ${n}`]))
    .map(([p, f]) => ({ fields: f(p.length), body: p, label: 'CL variant' }))],
  [6, fc.tuple(te, chunkedBody).map(([t, b]) => ({ fields: t, body: b, label: `TE ${t.join('|')}` }))],
  [3, fc.tuple(chunkedBody, c(true, false)).map(([b, first]) => ({
    fields: first ? ['Content-Length: 5', 'Transfer-Encoding: chunked'] : ['Transfer-Encoding: chunked', 'Content-Length: 5'],
    body: b,
    label: 'CL+TE',
  }))],
);

const eol = weighted<string>([40, c('\r\n')], [1, c('\n', '\r')]);

const canary = weighted<string>([3, c('')], [2, c('GET /canary HTTP/1.1\r\nHost: a\r\n\r\n', 'POST /canary HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc')]);

/** One connection's worth of hostile bytes. */
export const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    method,
    target,
    version,
    host: hostLine,
    others: fc.array(otherField, { maxLength: 4 }),
    many: weighted<string[] | null>([9, fc.constant(null)], [1, manyFields]),
    body,
    eol,
    canary,
    cutsAt: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
  })
  .map((r) => {
    const fields = [...r.host, ...r.others, ...(r.many ?? []), ...r.body.fields];
    // One line end may be bare (LF or CR): the request line's.
    const head = `${r.method} ${r.target}${r.version}${r.eol}${fields.map((f) => `${f}\r\n`).join('')}\r\n`;
    const bytes = head + r.body.body + r.canary;
    const cuts = [...new Set(r.cutsAt.map((x) => Math.floor(x * bytes.length)))].filter((x) => x > 0 && x < bytes.length).sort((a, b) => a - b);
    const label = `${r.method} ${r.target.slice(0, 30)}${r.version} | host ${JSON.stringify(r.host)} | ${r.body.label}${r.many ? ` | ${r.many.length} fillers` : ''}${r.canary ? ' | +canary' : ''}`;
    return { bytes, cuts, label };
  });
