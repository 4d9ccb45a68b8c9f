// W3C Trace Context through the proxy: a valid traceparent (with tracestate) passes unchanged, a
// missing or invalid one is replaced by a new valid one (its tracestate dropped), `tracing: false`
// stops the creation but still passes valid ones on.
import { describe, expect, it } from 'vitest';
import { isValidTraceparent } from '../src/proxy/trace.ts';
import { fetchText } from './helpers/http.ts';
import { startProxy } from './helpers/proxy.ts';
import { startUpstream, type RunningUpstream } from './helpers/upstream.ts';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function lastTrace(up: RunningUpstream): { traceparent: string[]; tracestate: string[] } {
  const raw = up.requests.at(-1)!.rawHeaders;
  const values = (name: string): string[] => raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === name);
  return { traceparent: values('traceparent'), tracestate: values('tracestate') };
}

describe('trace context', () => {
  it('passes a valid traceparent and its tracestate on unchanged', async () => {
    const up = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } } });
    await fetchText(`${p.url}/`, { headers: { traceparent: VALID, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' } });
    expect(lastTrace(up)).toEqual({ traceparent: [VALID], tracestate: ['congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'] });
  });

  it('gives a request without one a new, valid, sampled traceparent, a new one each time', async () => {
    const up = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } } });
    await fetchText(`${p.url}/`);
    const first = lastTrace(up).traceparent;
    await fetchText(`${p.url}/`);
    const second = lastTrace(up).traceparent;
    expect(first).toHaveLength(1);
    expect(isValidTraceparent(first[0]!)).toBe(true);
    expect(first[0]!.endsWith('-01')).toBe(true);
    expect(second[0]).not.toBe(first[0]);
  });

  it('replaces an invalid traceparent, and drops the tracestate that came with it', async () => {
    const up = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } } });
    for (const bad of ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'garbage', VALID.toUpperCase()]) {
      await fetchText(`${p.url}/`, { headers: { traceparent: bad, tracestate: 'k=v' } });
      const t = lastTrace(up);
      expect(t.traceparent).toHaveLength(1);
      expect(t.traceparent[0]).not.toBe(bad);
      expect(isValidTraceparent(t.traceparent[0]!)).toBe(true);
      expect(t.tracestate).toEqual([]);
    }
  });

  it('treats two traceparent headers as invalid', async () => {
    const up = await startUpstream({ name: 'a' });
    const p = await startProxy({ pools: { web: { upstreams: [up.url] } } });
    await fetchText(`${p.url}/`, { headers: ['traceparent', VALID, 'traceparent', VALID] });
    const t = lastTrace(up);
    expect(t.traceparent).toHaveLength(1);
    expect(t.traceparent[0]).not.toBe(VALID);
  });

  it('with tracing: false creates none, but still passes a valid one on', async () => {
    const up = await startUpstream({ name: 'a' });
    const p = await startProxy({ tracing: false, pools: { web: { upstreams: [up.url] } } });
    await fetchText(`${p.url}/`);
    expect(lastTrace(up).traceparent).toEqual([]);
    await fetchText(`${p.url}/`, { headers: { traceparent: VALID } });
    expect(lastTrace(up).traceparent).toEqual([VALID]);
  });
});
