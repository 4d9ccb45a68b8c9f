// End to end without the registry: a name served by the test DNS server resolves to two real
// HTTP servers on 127.0.0.2 and 127.0.0.3 sharing one port, and each discovered address,
// reached at `originFor(scheme, address, port)` with the client's Host unchanged, gets there.

import { describe, expect, it, onTestFinished } from 'vitest';
import { DnsDiscovery, originFor, type AddressChange } from '../src/discovery/dns.ts';
import { silentLogger } from '../src/observability/log.ts';
import { startDnsServer } from './helpers/dns-server.ts';
import { fetchText } from './helpers/http.ts';
import { upstreamsOnOnePort } from './helpers/addresses.ts';
import { waitFor } from './helpers/wait.ts';

describe('discovered addresses reach real upstreams', () => {
  it('each address is one upstream at the URL port, Host unchanged; a removed address gets no more traffic', async () => {
    const { upstreams, port } = await upstreamsOnOnePort([{ name: 'a', host: '127.0.0.2' }, { name: 'b', host: '127.0.0.3' }]);
    const [a, b] = upstreams as [typeof upstreams[0], typeof upstreams[0]];
    const dns = await startDnsServer();
    dns.setRecords('api.test', { A: ['127.0.0.3', '127.0.0.2'] });
    const d = new DnsDiscovery({ servers: [dns.server], log: silentLogger(), timeoutMs: 250, tries: 1 });
    onTestFinished(() => d.stop());
    const changes: AddressChange[] = [];
    const w = d.watch('api.test', 30, (_addresses, change) => changes.push(change));
    d.start();
    await waitFor(() => w.addresses().length === 2, { message: 'both addresses discovered' });

    const host = `api.test:${port}`;
    const origins = w.addresses().map((addr) => originFor('http', addr, port));
    expect(origins).toEqual([`http://127.0.0.2:${port}`, `http://127.0.0.3:${port}`]);
    const bodies = [];
    for (const origin of origins) bodies.push((await fetchText(`${origin}/hello`, { headers: { host } })).body);
    expect(bodies).toEqual(['a\n', 'b\n']);
    expect(a.requests.map((r) => r.headers['host'])).toEqual([host]);
    expect(b.requests.map((r) => r.headers['host'])).toEqual([host]);

    // 127.0.0.3 leaves DNS: the next lookups drop it, and the set still reaches a.
    dns.setRecords('api.test', { A: ['127.0.0.2'] });
    await waitFor(() => changes.some((c) => c.removed.includes('127.0.0.3')), { message: '127.0.0.3 removed' });
    expect(w.addresses()).toEqual(['127.0.0.2']);
    for (const addr of w.addresses()) {
      expect((await fetchText(`${originFor('http', addr, port)}/again`, { headers: { host } })).body).toBe('a\n');
    }
    expect(a.hits).toBe(2);
    expect(b.hits).toBe(1);
  });
});
