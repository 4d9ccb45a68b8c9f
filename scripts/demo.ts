// `npm run demo`: starts three local upstreams (a, b, c: each answers with its name) and the
// real `fairway` CLI with config/demo.yaml in front of them. Ctrl-C stops everything.
// FAIRWAY_DEMO_EPHEMERAL=1 puts everything on free ports (used by the test of this script).

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startUpstream, type RunningUpstream } from './upstream.ts';

const ephemeral = process.env['FAIRWAY_DEMO_EPHEMERAL'] === '1';
const names = ['a', 'b', 'c'] as const;
const basePorts = [3001, 3002, 3003];

const upstreams: RunningUpstream[] = [];
for (let i = 0; i < names.length; i++) {
  const port = ephemeral ? 0 : Number(process.env[`DEMO_${names[i]!.toUpperCase()}_PORT`] ?? basePorts[i]);
  try {
    upstreams.push(await startUpstream({ name: names[i]!, port }));
  } catch (err) {
    process.stderr.write(`demo: cannot start upstream ${names[i]} on port ${port}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
for (const u of upstreams) process.stdout.write(`demo upstream ${u.name} listening on ${u.url}\n`);

const bin = fileURLToPath(new URL('../bin/fairway.js', import.meta.url));
const config = fileURLToPath(new URL('../config/demo.yaml', import.meta.url));
const env: Record<string, string | undefined> = { ...process.env };
upstreams.forEach((u, i) => (env[`DEMO_${names[i]!.toUpperCase()}_PORT`] = String(u.port)));
if (ephemeral) {
  env['FAIRWAY_DEMO_PORT'] = '0';
  env['FAIRWAY_DEMO_ADMIN_PORT'] = '0';
}
const child = spawn(process.execPath, [bin, '--config', config], { env, stdio: ['ignore', 'pipe', 'inherit'] });
child.stdout.on('data', (d: Buffer) => {
  process.stdout.write(d);
  const m = /^fairway listening on (\S+)$/m.exec(d.toString());
  if (m) {
    const admin = `http://127.0.0.1:${ephemeral ? '<admin port>' : (env['FAIRWAY_DEMO_ADMIN_PORT'] ?? '9901')}`;
    process.stdout.write(
      `\nTry it:  for i in 1 2 3 4 5 6 7 8; do curl -s ${m[1]}/; done\n` +
        `         (weights a=2, b=1, c=1: smooth round-robin gives a b c a, a b c a …)\n` +
        `Dashboard: open ${admin}/ in a browser\n` +
        `Status:  curl -s ${admin}/status\n` +
        `Stop:    Ctrl-C\n\n`,
    );
  }
});

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  child.kill(signal);
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
child.on('exit', async (code) => {
  await Promise.all(upstreams.map((u) => u.close()));
  process.exit(code ?? 0);
});
