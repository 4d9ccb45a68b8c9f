// CPU profiles of Node targets under load: 3 upstreams, the target started with --cpu-prof, a
// 13 B × 50 closed-loop run, a graceful stop (the profile is written on exit), then a summary:
// busy time by area and by kind of work, top self-time functions overall and inside src/. A
// diagnostic step: the profiler adds overhead, so its run is not a measurement.

import { mkdtempSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { summarizeProfile, type ProfileSummary } from '../lib/cpuprofile.ts';
import type { Profile } from '../lib/options.ts';
import { runLoad, startTarget } from './throughput.ts';
import { REPO_DIR, startUpstream, type Target, type Upstream } from './targets.ts';

export interface ProfileResult {
  target: string;
  file: string | null;
  cpuUsPerReq: number | null;
  summary: ProfileSummary | null;
  error: string | null;
}

export interface ProfileTargetOptions {
  /** Root of the --baseline tree (for fairway-baseline). */
  baselineDir?: string;
  /** Temp directory for generated configs. */
  tmpDir?: string;
}

/** Profiles Node target `name` for `profile.profileS` seconds; writes the .cpuprofile under `outDir`. Never throws. */
export async function profileTarget(name: string, profile: Profile, outDir: string, opts: ProfileTargetOptions = {}): Promise<ProfileResult> {
  const dir = mkdtempSync(path.join(outDir, `cpuprofile-${name}-`));
  const ups: Upstream[] = [];
  let t: Target | null = null;
  const fail = (error: string | null): ProfileResult => ({ target: name, file: null, cpuUsPerReq: null, summary: null, error });
  try {
    for (const n of ['a', 'b', 'c']) ups.push(await startUpstream(n));
    t = await startTarget(name, ups, opts.tmpDir ?? dir, {
      nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir],
      ...(opts.baselineDir === undefined ? {} : { baselineDir: opts.baselineDir }),
    });
    const { result, error } = await runLoad({ url: `${t.url}/`, connections: 50, durationS: profile.profileS, warmupS: 1, timeoutS: 10, pids: [...t.pids], probes: [] });
    const loadEnded = performance.now();
    await t.stop();
    // The profile ends when the process exits (just after stop): keep the measured run only.
    const window = result === null ? undefined : { endOffsetUs: (performance.now() - loadEnded) * 1000, lengthUs: result.elapsedS * 1e6 };
    t = null;
    if (result === null) return fail(error);
    const n = result.ok + result.non2xx;
    const cpu = result.cpuS[0];
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) return fail(`no .cpuprofile written (did ${name} exit gracefully on SIGTERM?)`);
    const file = path.join(dir, files[0]!);
    const repoUrl = `${pathToFileURL(opts.baselineDir !== undefined && name === 'fairway-baseline' ? opts.baselineDir : REPO_DIR).href}/`;
    const summary = summarizeProfile(file, `${repoUrl}src/`, repoUrl, window === undefined ? {} : { window });
    return { target: name, file, cpuUsPerReq: n > 0 && cpu != null ? (cpu * 1e6) / n : null, summary, error: null };
  } catch (err) {
    return fail((err as Error).message);
  } finally {
    await t?.stop();
    await Promise.all(ups.map((u) => u.child.stop()));
  }
}

/** Profiles Fairway round-robin (the report's "CPU profile of Fairway" section). */
export function profileFairway(profile: Profile, outDir: string): Promise<ProfileResult> {
  return profileTarget('fairway-round-robin', profile, outDir);
}
