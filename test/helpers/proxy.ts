// Starts the real proxy in-process from a config object or YAML text, on 127.0.0.1:0.

import { parseConfigText, buildConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { silentLogger, createLogger, type Logger } from '../../src/observability/log.ts';
import { Runtime, type RuntimeOptions } from '../../src/runtime.ts';
import { allRuntimes } from './registry.ts';

export interface RunningProxy {
  runtime: Runtime;
  url: string;
  adminUrl: string | null;
  close(drainMs?: number): Promise<void>;
}

/** A config object in the YAML shape; `listen` defaults to 127.0.0.1:0. */
export async function startProxy(
  config: Record<string, unknown> | string,
  opts: { reload?: () => Config; log?: Logger; runtime?: Partial<Omit<RuntimeOptions, 'log' | 'reloadSource'>> } = {},
): Promise<RunningProxy> {
  const cfg =
    typeof config === 'string'
      ? parseConfigText(config, 'test.yaml', { env: process.env })
      : buildConfig({ listen: '127.0.0.1:0', ...config }, { env: process.env });
  const log = opts.log ?? (process.env['FAIRWAY_TEST_LOG'] ? createLogger(process.env['FAIRWAY_TEST_LOG']) : silentLogger());
  const runtime = await Runtime.start(cfg, { ...opts.runtime, log, reloadSource: opts.reload ?? null });
  allRuntimes.add(runtime);
  return {
    runtime,
    url: runtime.urls()[0]!,
    adminUrl: runtime.admin?.url() ?? null,
    close: async (drainMs = 0) => {
      allRuntimes.delete(runtime);
      await runtime.close(drainMs);
    },
  };
}
