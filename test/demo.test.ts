// The README's first command: the demo starts three upstreams and the proxy, and balances.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { listeningUrl, startCli } from './helpers/cli.ts';
import { fetchText } from './helpers/http.ts';

describe('npm run demo', () => {
  it('starts, answers from all three upstreams in smooth weighted order, and stops on SIGINT', async () => {
    const script = fileURLToPath(new URL('../scripts/demo.ts', import.meta.url));
    const demo = startCli([], { script, env: { FAIRWAY_DEMO_EPHEMERAL: '1' } });
    const url = await listeningUrl(demo);
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push((await fetchText(`${url}/`)).body.trim());
    expect(new Set(seen)).toEqual(new Set(['a', 'b', 'c']));
    expect(seen.filter((x) => x === 'a').length).toBe(4); // weight 2 of 4
    expect(demo.stdout()).toContain('Try it:');
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
  });
});
