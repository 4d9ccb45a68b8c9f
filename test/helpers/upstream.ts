// Test upstreams: the shared fixture in scripts/upstream.ts, closed automatically after each test.
import { onTestFinished } from 'vitest';
import { startUpstream as start, type RunningUpstream, type UpstreamOptions } from '../../scripts/upstream.ts';

export type { RunningUpstream, Behavior } from '../../scripts/upstream.ts';

export async function startUpstream(opts: UpstreamOptions): Promise<RunningUpstream> {
  const up = await start(opts);
  onTestFinished(() => up.close());
  return up;
}

export async function startUpstreams(...names: string[]): Promise<RunningUpstream[]> {
  return Promise.all(names.map((name) => startUpstream({ name })));
}
