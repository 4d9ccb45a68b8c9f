// The two runnable examples (examples/*.mjs) as a user runs them, against this checkout's
// sources (the `fairway-source` export condition): they start, serve, and stop cleanly on
// SIGTERM. test/package.test.ts runs the library example against the packed, installed copy.

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listeningUrl, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';
import { waitFor } from './helpers/wait.ts';

const example = (name: string): string => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
const SOURCES = { NODE_OPTIONS: '--conditions=fairway-source' };

describe('examples', { timeout: 60_000 }, () => {
  it('library.mjs: start() with an object, the dashboard, a refused reload, SIGTERM drains', async () => {
    const cli = startCli([], { script: example('library.mjs'), env: { ...SOURCES, PORT: '0', ADMIN_PORT: '0' } });
    const url = await listeningUrl(cli, 'proxy');
    const dashboard = await waitFor(() => /^dashboard on (http:\/\/\S+)$/m.exec(cli.stdout())?.[1], { message: 'the dashboard line' });
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) bodies.add((await fetchText(`${url}/`)).body);
    expect([...bodies].sort()).toEqual(['hello from blue\n', 'hello from green\n']);
    expect((await fetchText(dashboard)).headers['content-type']).toBe('text/html; charset=utf-8');
    await waitFor(() => cli.stdout().includes('reload refused: pools.app.balancer: must be one of'), { message: 'the refused reload' });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toMatch(/stopped\n$/);
    expect(cli.stderr()).toBe('');
  });

  it('fastify.mjs: the app keeps its routes, /api goes through Fairway (bodies included)', async () => {
    const cli = startCli([], { script: example('fastify.mjs'), env: { ...SOURCES, PORT: '0' } });
    const url = await listeningUrl(cli, 'app');
    expect(JSON.parse((await fetchText(`${url}/`)).body)).toMatchObject({ hello: 'from the fastify app' });
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const r = await fetchText(`${url}/api/users?page=${i}`);
      expect(r.status).toBe(200);
      expect(r.body).toMatch(new RegExp(`^api-[12] answered GET /api/users\\?page=${i}\\n$`));
      seen.add(r.body.slice(0, 5));
    }
    expect(seen.size).toBe(2);
    expect((await fetchText(`${url}/api/orders`, { method: 'POST', body: 'x'.repeat(1000) })).body).toMatch(/^api-[12] answered POST \/api\/orders\n$/);
    const status = JSON.parse((await fetchText(`${url}/fairway/status`)).body) as { pools: { name: string; requests: number }[] };
    expect(status.pools[0]).toMatchObject({ name: 'api', requests: 9 });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });
});
