// DNS discovery against a real DNS server on 127.0.0.1 (test/helpers/dns-server.ts): the
// lookup loop sees changes on the next lookup, keeps the last good set through every kind of
// failure, counts and logs failures once per state change, and stops without leftovers.

import { onTestFinished, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import dgram from 'node:dgram';
import { DnsDiscovery, DnsName, type AddressChange, type DnsNameStats } from '../src/discovery/dns.ts';
import { silentLogger, type Logger } from '../src/observability/log.ts';
import { seededRng } from '../src/util/rng.ts';
import { DnsMode, startDnsServer, type TestDnsServer } from './helpers/dns-server.ts';
import { waitFor } from './helpers/wait.ts';

/** A quarter-second per try keeps failure tests quick (c-ares has a floor near 250 ms). */
const TIMEOUT_MS = 250;
const HOUR = 3_600_000;

function discovery(servers: readonly string[] | null, log: Logger = silentLogger()): DnsDiscovery {
  const d = new DnsDiscovery({ servers, log, timeoutMs: TIMEOUT_MS, tries: 1, rng: seededRng(7) });
  onTestFinished(() => d.stop());
  return d;
}

/** Records every call of a listener. */
function recorder(): { calls: { addresses: readonly string[]; change: AddressChange }[]; listener: (a: readonly string[], c: AddressChange) => void } {
  const calls: { addresses: readonly string[]; change: AddressChange }[] = [];
  return { calls, listener: (addresses, change) => calls.push({ addresses: [...addresses], change }) };
}

/** A debug-level pino logger whose lines land in an array. */
function capturingLogger(): { log: Logger; lines: { level: number; msg: string; kind?: string }[] } {
  const lines: { level: number; msg: string; kind?: string }[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

function statsOf(d: DnsDiscovery, name: string): DnsNameStats {
  const s = d.statsOf(name);
  if (s === undefined) throw new Error(`${name} is not watched`);
  return s;
}

describe('dns discovery: changes', () => {
  it('the listener sees addresses added and removed', async () => {
    const dns = await startDnsServer();
    dns.setRecords('api.test', { A: ['127.0.0.3', '127.0.0.2'] });
    const d = discovery([dns.server]);
    const rec = recorder();
    const w = d.watch('api.test', HOUR, rec.listener);
    expect(w.addresses()).toEqual([]);

    await d.resolveNow();
    expect(rec.calls).toEqual([{ addresses: ['127.0.0.2', '127.0.0.3'], change: { added: ['127.0.0.2', '127.0.0.3'], removed: [] } }]);
    expect(w.addresses()).toEqual(['127.0.0.2', '127.0.0.3']);

    dns.setRecords('api.test', { A: ['127.0.0.3', '127.0.0.4'] });
    await d.resolveNow();
    expect(rec.calls[1]).toEqual({ addresses: ['127.0.0.3', '127.0.0.4'], change: { added: ['127.0.0.4'], removed: ['127.0.0.2'] } });

    // An unchanged answer is a lookup, not a change.
    await d.resolveNow();
    expect(rec.calls).toHaveLength(2);
    const s = statsOf(d, 'api.test');
    expect(s).toMatchObject({ lookups: 3, changes: 2, state: 'ok', lastError: null, addresses: ['127.0.0.3', '127.0.0.4'] });
    expect(s.lastSuccessAt).toBeGreaterThan(0);
  });

  it('a changed record is seen on the very next lookup, whatever its TTL (no resolver cache)', async () => {
    const dns = await startDnsServer();
    dns.setRecords('cached.test', { A: ['127.0.0.2'], ttl: 3600 });
    const d = discovery([dns.server]);
    const w = d.watch('cached.test', HOUR, () => {});
    await d.resolveNow();
    expect(w.addresses()).toEqual(['127.0.0.2']);
    expect(statsOf(d, 'cached.test').ttlSeconds).toBe(3600);

    dns.setRecords('cached.test', { A: ['127.0.0.5'], ttl: 3600 });
    await d.resolveNow();
    expect(w.addresses()).toEqual(['127.0.0.5']);
    // Each lookup reached the server: nothing answered from a cache.
    expect(dns.queries('cached.test', 'A')).toBe(2);
    expect(dns.queries('cached.test', 'AAAA')).toBe(2);
  });

  it('the interval drives lookups, not the TTL', async () => {
    const dns = await startDnsServer();
    dns.setRecords('ttl.test', { A: ['127.0.0.2'], ttl: 3600 });
    const d = discovery([dns.server]);
    const rec = recorder();
    d.watch('ttl.test', 40, rec.listener);
    d.start();
    await waitFor(() => dns.queries('ttl.test', 'A') >= 4, { message: '4 lookups at a 40 ms interval despite a 1 h TTL' });
    dns.setRecords('ttl.test', { A: ['127.0.0.6'], ttl: 3600 });
    await waitFor(() => rec.calls.some((c) => c.change.added.includes('127.0.0.6')), { message: 'the change, long before the TTL ends' });
    expect(statsOf(d, 'ttl.test').ttlSeconds).toBe(3600);
  });

  it('answers too large for UDP arrive whole over TCP', async () => {
    const dns = await startDnsServer();
    const many = Array.from({ length: 120 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    dns.setRecords('big.test', { A: many });
    const d = discovery([dns.server]);
    const w = d.watch('big.test', HOUR, () => {});
    await d.resolveNow();
    expect(w.addresses()).toHaveLength(120);
    expect(dns.tcpQueries).toBeGreaterThanOrEqual(1);
  });
});

describe('dns discovery: IPv6', () => {
  it('AAAA-only names, both families, and one family failing', async () => {
    const dns = await startDnsServer();
    dns.setRecords('v6.test', { AAAA: ['fd00::10', '::1'] });
    dns.setRecords('dual.test', { A: ['127.0.0.2'], AAAA: ['::1'] });
    const d = discovery([dns.server]);
    const v6 = d.watch('v6.test', HOUR, () => {});
    const dual = d.watch('dual.test', HOUR, () => {});
    await d.resolveNow();
    expect(v6.addresses()).toEqual(['::1', 'fd00::10']);
    expect(dual.addresses()).toEqual(['127.0.0.2', '::1']);

    // AAAA times out while A changes: the IPv4 part is fresh, the IPv6 part kept, the round counted as failed.
    dns.setMode('dual.test', DnsMode.Drop, { type: 'AAAA' });
    dns.setRecords('dual.test', { A: ['127.0.0.3'] });
    await d.resolveNow();
    expect(dual.addresses()).toEqual(['127.0.0.3', '::1']);
    const s = statsOf(d, 'dual.test');
    expect(s.failures.timeout).toBe(1);
    expect(s.state).toBe('failing');
    expect(s.lastError?.code).toBe('ETIMEOUT');
  });
});

describe('dns discovery: failures keep the last good set', () => {
  it.each([
    [DnsMode.ServFail, 'servfail', 'ESERVFAIL'],
    [DnsMode.NxDomain, 'nxdomain', 'ENOTFOUND'],
    [DnsMode.Refused, 'refused', 'EREFUSED'],
    [DnsMode.Empty, 'empty', 'EEMPTY'],
    [DnsMode.Drop, 'timeout', 'ETIMEOUT'],
  ] as const)('%s', async (mode, kind, code) => {
    const dns = await startDnsServer();
    dns.setRecords('api.test', { A: ['127.0.0.2', '127.0.0.3'] });
    const d = discovery([dns.server]);
    const rec = recorder();
    const w = d.watch('api.test', HOUR, rec.listener);
    await d.resolveNow();
    const good = statsOf(d, 'api.test').lastSuccessAt;

    dns.setMode('api.test', mode);
    await d.resolveNow();
    await d.resolveNow();
    expect(w.addresses()).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(rec.calls).toHaveLength(1);
    const s = statsOf(d, 'api.test');
    expect(s.failures[kind]).toBe(2);
    expect(Object.values(s.failures).reduce((a, b) => a + b, 0)).toBe(2);
    expect(s).toMatchObject({ state: 'failing', lookups: 3, lastSuccessAt: good });
    expect(s.lastError).toMatchObject({ kind, code });

    // Recovery: the next good answer is taken.
    dns.setMode('api.test', DnsMode.Answer);
    dns.setRecords('api.test', { A: ['127.0.0.4'] });
    await d.resolveNow();
    expect(w.addresses()).toEqual(['127.0.0.4']);
    expect(statsOf(d, 'api.test').state).toBe('ok');
    expect(statsOf(d, 'api.test').lastError?.kind).toBe(kind); // kept for diagnosis
  });

  it('a DNS server that is not listening counts as unreachable', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    await new Promise<void>((r) => sock.close(() => r()));
    const d = discovery([`127.0.0.1:${port}`]);
    const w = d.watch('api.test', HOUR, () => {});
    await d.resolveNow();
    expect(w.addresses()).toEqual([]);
    expect(statsOf(d, 'api.test').failures.unreachable).toBe(1);
  });

  it('a name that never resolved reports an empty set and its error, then resolves', async () => {
    const dns = await startDnsServer();
    const d = discovery([dns.server]);
    const rec = recorder();
    const w = d.watch('later.test', HOUR, rec.listener);
    await d.resolveNow();
    expect(w.addresses()).toEqual([]);
    expect(statsOf(d, 'later.test')).toMatchObject({
      addresses: [],
      lastSuccessAt: null,
      state: 'failing',
      lastError: { kind: 'nxdomain', code: 'ENOTFOUND' },
    });
    expect(rec.calls).toEqual([]);

    dns.setRecords('later.test', { A: ['127.0.0.2'] });
    await d.resolveNow();
    expect(rec.calls).toEqual([{ addresses: ['127.0.0.2'], change: { added: ['127.0.0.2'], removed: [] } }]);
  });

  it('logs once per state change, not once per failed lookup', async () => {
    const dns = await startDnsServer();
    dns.setRecords('log.test', { A: ['127.0.0.2'] });
    const { log, lines } = capturingLogger();
    const d = discovery([dns.server], log);
    d.watch('log.test', HOUR, () => {});
    await d.resolveNow();
    dns.setMode('log.test', DnsMode.ServFail);
    for (let i = 0; i < 3; i++) await d.resolveNow();
    dns.setMode('log.test', DnsMode.Refused);
    for (let i = 0; i < 2; i++) await d.resolveNow();
    dns.setMode('log.test', DnsMode.Answer);
    await d.resolveNow();
    await d.resolveNow();

    const WARN = 40;
    const INFO = 30;
    const warns = lines.filter((l) => l.level === WARN);
    expect(warns.map((l) => [l.msg, l.kind])).toEqual([
      ['dns lookup failed; keeping the last good addresses', 'servfail'],
      ['dns lookup failed; keeping the last good addresses', 'refused'],
    ]);
    expect(lines.filter((l) => l.level === INFO).map((l) => l.msg)).toEqual(['dns addresses changed', 'dns lookups recovered']);
    expect(lines.filter((l) => l.msg === 'dns lookup failed again')).toHaveLength(3);
  });
});

describe('dns discovery: loop and manager', () => {
  it('a slow DNS answer for one name delays no other name and nothing awaits it', async () => {
    const dns = await startDnsServer();
    dns.setRecords('slow.test', { A: ['127.0.0.2'] });
    dns.setRecords('fast.test', { A: ['127.0.0.3'] });
    dns.setDelay('slow.test', 5000);
    const d = new DnsDiscovery({ servers: [dns.server], log: silentLogger(), timeoutMs: 10_000, tries: 1 });
    onTestFinished(() => d.stop());
    const slow = d.watch('slow.test', 50, () => {});
    const fast = d.watch('fast.test', 50, () => {});
    d.start();
    await waitFor(() => dns.queries('fast.test', 'A') >= 3, { message: 'fast.test looked up again and again' });
    expect(fast.addresses()).toEqual(['127.0.0.3']);
    // slow.test is still in its first round: one query, no answer, never overlapped.
    expect(dns.queries('slow.test', 'A')).toBe(1);
    expect(slow.addresses()).toEqual([]);
    expect(statsOf(d, 'slow.test').lookups).toBe(0);
  });

  it('entries sharing a name share one lookup loop at the shortest interval', async () => {
    const dns = await startDnsServer();
    dns.setRecords('shared.test', { A: ['127.0.0.2'] });
    const d = discovery([dns.server]);
    const a = recorder();
    const b = recorder();
    const wa = d.watch('shared.test', HOUR, a.listener);
    const wb = d.watch('Shared.Test.', 30, b.listener);
    expect(d.stats().map((s) => [s.name, s.intervalMs])).toEqual([['shared.test', 30]]);
    d.start();
    await waitFor(() => statsOf(d, 'shared.test').lookups >= 3, { message: 'three rounds' });
    // One query per family per round, not one per entry.
    const s = statsOf(d, 'shared.test');
    expect(dns.queries('shared.test', 'A')).toBeGreaterThanOrEqual(s.lookups);
    expect(dns.queries('shared.test', 'A')).toBeLessThanOrEqual(s.lookups + 1);
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);

    wb.unwatch();
    expect(statsOf(d, 'shared.test').intervalMs).toBe(HOUR);
    dns.setRecords('shared.test', { A: ['127.0.0.9'] });
    await d.resolveNow();
    expect(a.calls).toHaveLength(2);
    expect(b.calls).toHaveLength(1);

    wa.unwatch();
    expect(d.stats()).toEqual([]);
  });

  it('a shorter interval from a new entry replaces a long wait at once', async () => {
    const dns = await startDnsServer();
    dns.setRecords('soon.test', { A: ['127.0.0.2'] });
    const d = discovery([dns.server]);
    d.watch('soon.test', HOUR, () => {});
    d.start();
    await waitFor(() => statsOf(d, 'soon.test').lookups === 1, { message: 'the first lookup' });
    d.watch('soon.test', 30, () => {});
    await waitFor(() => statsOf(d, 'soon.test').lookups >= 3, { message: 'lookups at the new interval, not in an hour' });
  });

  it('a reload that keeps a name keeps its addresses and stats (watch new, then unwatch old)', async () => {
    const dns = await startDnsServer();
    dns.setRecords('keep.test', { A: ['127.0.0.2'] });
    const d = discovery([dns.server]);
    const old = d.watch('keep.test', HOUR, () => {});
    await d.resolveNow();
    const next = d.watch('keep.test', HOUR, () => {});
    expect(next.addresses()).toEqual(['127.0.0.2']); // at once, no lookup needed
    old.unwatch();
    expect(statsOf(d, 'keep.test').lookups).toBe(1);
    expect(dns.queries('keep.test', 'A')).toBe(1);
  });

  it('new dns.servers apply from the next lookup; addresses are kept meanwhile', async () => {
    const one = await startDnsServer();
    const two = await startDnsServer();
    one.setRecords('move.test', { A: ['127.0.0.2'] });
    two.setRecords('move.test', { A: ['127.0.0.7'] });
    const d = discovery([one.server]);
    const w = d.watch('move.test', HOUR, () => {});
    await d.resolveNow();
    expect(w.addresses()).toEqual(['127.0.0.2']);
    d.setServers([two.server]);
    expect(w.addresses()).toEqual(['127.0.0.2']);
    await d.resolveNow();
    expect(w.addresses()).toEqual(['127.0.0.7']);
    expect(one.queries('move.test', 'A')).toBe(1);
    expect(two.queries('move.test', 'A')).toBe(1);
  });

  it('an IP literal is a fixed set with no lookups', async () => {
    const dns = await startDnsServer();
    const d = discovery([dns.server]);
    const w = d.watch('127.0.0.2', 10, () => {});
    d.start();
    expect(w.addresses()).toEqual(['127.0.0.2']);
    expect(d.stats()).toEqual([]);
  });

  it('stop() leaves no timer and no query, and ignores the late answer', async () => {
    const dns = await startDnsServer();
    dns.setRecords('stop.test', { A: ['127.0.0.2'] });
    dns.setRecords('control.test', { A: ['127.0.0.3'] });
    const make = (n: string): DnsName =>
      new DnsName({
        name: n,
        intervalMs: 20,
        settings: { servers: [dns.server], timeoutMs: 5000, tries: 1 },
        log: silentLogger(),
        rng: seededRng(1),
        wallClock: Date.now,
      });
    const name = make('stop.test');
    const control = make('control.test');
    onTestFinished(() => control.stop());
    const rec = recorder();
    name.addListener(rec.listener);
    name.start();
    await waitFor(() => name.stats().lookups >= 2 && name.hasTimer(), { message: 'two rounds and the next one scheduled' });

    // A round in flight when stop() comes: its answer arrives later and must change nothing.
    dns.setDelay('stop.test', 300, { type: 'A' });
    dns.setRecords('stop.test', { A: ['127.0.0.8'] });
    const asked = dns.queries('stop.test', 'A');
    await waitFor(() => dns.queries('stop.test', 'A') > asked, { message: 'a delayed query' });
    const lookups = name.stats().lookups;
    const replied = dns.replies('stop.test', 'A');
    await name.stop();
    expect(name.hasTimer()).toBe(false);
    // stop() settled before the delayed reply left: the query was cancelled, not waited for.
    expect(dns.replies('stop.test', 'A')).toBe(replied);
    await waitFor(() => dns.replies('stop.test', 'A') > replied, { message: 'the delayed reply to leave the server' });
    await name.resolveNow(); // a no-op once stopped

    // Five intervals of a name still running pass without a single query for the stopped one.
    control.start();
    await waitFor(() => control.stats().lookups >= 5, { message: 'five rounds of the control name' });
    expect(dns.queries('stop.test', 'A')).toBe(asked + 1);
    expect(name.stats().lookups).toBe(lookups);
    expect(name.current()).toEqual(['127.0.0.2']);
    expect(rec.calls).toHaveLength(1);
  });
});

describe('dns discovery: waiting for a first answer', () => {
  it('ready() resolves once the first round ended, good or bad; at once for a looked-up name or an IP literal', async () => {
    const dns = await startDnsServer();
    dns.setRecords('good.test', { A: ['127.0.0.2'] });
    const d = discovery([dns.server]);
    const good = d.watch('good.test', HOUR, () => {});
    const bad = d.watch('bad.test', HOUR, () => {}); // NXDOMAIN
    let goodReady = false;
    void good.ready().then(() => (goodReady = true));
    await Promise.resolve();
    expect(goodReady).toBe(false); // not started: no round yet
    d.start();
    await Promise.all([good.ready(), bad.ready()]);
    expect(good.addresses()).toEqual(['127.0.0.2']);
    expect(bad.addresses()).toEqual([]);
    expect(statsOf(d, 'bad.test').failures.nxdomain).toBe(1);
    // A second watcher of a name already looked up waits for nothing, and triggers no lookup.
    const queries = dns.queries('good.test');
    await d.watch('good.test', HOUR, () => {}).ready();
    expect(dns.queries('good.test')).toBe(queries);
    await d.watch('127.0.0.9', HOUR, () => {}).ready();
  });
});
