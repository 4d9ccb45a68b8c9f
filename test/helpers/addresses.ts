// Test upstreams on several loopback addresses sharing one port number (127.0.0.2, 127.0.0.3,
// …), as the addresses of one DNS name are reached at the URL's one port.

import { startUpstream, type RunningUpstream } from './upstream.ts';

/**
 * Starts one upstream per host, all on the same port (the first one's, chosen by the OS); tries
 * another port when one is taken on a later address. Each upstream answers with its name and
 * is closed after the test.
 */
export async function upstreamsOnOnePort(hosts: readonly { name: string; host: string }[]): Promise<{ upstreams: RunningUpstream[]; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const first = await startUpstream({ name: hosts[0]!.name, host: hosts[0]!.host, port: 0 });
    const upstreams = [first];
    try {
      for (const h of hosts.slice(1)) upstreams.push(await startUpstream({ name: h.name, host: h.host, port: first.port }));
      return { upstreams, port: first.port };
    } catch (err) {
      await Promise.all(upstreams.map((u) => u.close()));
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw err;
    }
  }
}
