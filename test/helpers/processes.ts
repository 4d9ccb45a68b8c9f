// Upstreams as separate processes (scripts/upstream.ts), so a test can SIGKILL one.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { waitFor } from './wait.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/upstream.ts', import.meta.url));

export interface UpstreamProcess {
  name: string;
  url: string;
  child: ChildProcess;
}

export async function spawnUpstream(name: string, extra: string[] = []): Promise<UpstreamProcess> {
  const child = spawn(process.execPath, [SCRIPT, '--name', name, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  const m = await waitFor(() => / listening on (http:\/\/\S+)/.exec(out), { timeoutMs: 15_000, message: `upstream ${name} to start` });
  return { name, url: m[1]!, child };
}
