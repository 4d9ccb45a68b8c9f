// CPU profile of Fairway under load: 3 upstreams, Fairway round-robin started with --cpu-prof,
// a 13 B × 50 closed-loop run, a graceful stop (the profile is written on exit), then the top
// self-time functions overall and inside src/. A diagnostic step: its run is not a measurement.

import { mkdtempSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { summarizeProfile, type ProfileSummary } from '../lib/cpuprofile.ts';
import type { Profile } from '../lib/options.ts';
import { runLoad } from './throughput.ts';
import { REPO_DIR, startFairway, startUpstream, type Target, type Upstream } from './targets.ts';

export interface ProfileResult {
  file: string | null;
  cpuUsPerReq: number | null;
  summary: ProfileSummary | null;
  error: string | null;
}

/** Profiles Fairway round-robin for `profile.profileS` seconds; writes the .cpuprofile under `outDir`. */
export async function profileFairway(profile: Profile, outDir: string): Promise<ProfileResult> {
  const dir = mkdtempSync(path.join(outDir, 'cpuprofile-'));
  const ups: Upstream[] = [];
  let fw: Target | null = null;
  try {
    for (const n of ['a', 'b', 'c']) ups.push(await startUpstream(n));
    fw = await startFairway('round-robin', ups, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
    const { result, error } = await runLoad({ url: `${fw.url}/`, connections: 50, durationS: profile.profileS, warmupS: 1, timeoutS: 10, pids: [...fw.pids], probes: [] });
    await fw.stop();
    fw = null;
    if (result === null) return { file: null, cpuUsPerReq: null, summary: null, error };
    const n = result.ok + result.non2xx;
    const cpu = result.cpuS[0];
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) return { file: null, cpuUsPerReq: null, summary: null, error: 'no .cpuprofile written (did Fairway exit gracefully on SIGTERM?)' };
    const file = path.join(dir, files[0]!);
    const repoUrl = `${pathToFileURL(REPO_DIR).href}/`;
    const summary = summarizeProfile(file, `${repoUrl}src/`, repoUrl);
    return { file, cpuUsPerReq: n > 0 && cpu != null ? (cpu * 1e6) / n : null, summary, error: null };
  } catch (err) {
    return { file: null, cpuUsPerReq: null, summary: null, error: (err as Error).message };
  } finally {
    await fw?.stop();
    await Promise.all(ups.map((u) => u.child.stop()));
  }
}
