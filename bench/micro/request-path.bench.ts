// ns per request of the per-request helpers issue 10 adds to the request path: W3C trace context
// (validating an incoming traceparent, making a new one) against the obvious alternatives, path
// rewriting and header rules. Each prints mitata's table.
//
// Run: npx node bench/micro/request-path.bench.ts

import { randomBytes, randomUUID } from 'node:crypto';
import { bench, group, run, summary } from 'mitata';
import { isValidTraceparent, newTraceparent } from '../../src/proxy/trace.ts';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

group('trace context', () => {
  summary(() => {
    bench('newTraceparent (crypto bytes pooled, 256 ids per refill)', () => newTraceparent());
    bench('crypto.randomBytes(24) per request', () => `00-${randomBytes(24).toString('hex')}-01`);
    bench('crypto.randomUUID per request (for scale)', () => randomUUID());
  });
  bench('isValidTraceparent (valid)', () => isValidTraceparent(VALID));
});

await run();
