// Process entry: argv → config → Runtime, signals (TERM/INT drain, HUP reload), exit codes.
// The only module that calls process.exit or writes the human startup lines.

import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { CliError, HELP, parseCli, sidecarConfig, type CliOptions } from './cli.ts';
import { runPrimary } from './cluster/primary.ts';
import { runWorker } from './cluster/worker.ts';
import { ConfigError } from './config/errors.ts';
import { buildConfig, loadConfigFile, parseConfigText } from './config/load.ts';
import type { Config } from './config/types.ts';
import { runUntilStopped } from './lifecycle.ts';
import { createLogger } from './observability/log.ts';
import { Runtime } from './runtime.ts';
import { fileIdentitySync } from './util/file-identity.ts';
import { packageVersion } from './version.ts';

/** A validated config and the file text it came from (null for the flags-only form). */
export interface LoadedConfig {
  config: Config;
  text: string | null;
}

/** Validates `text` (the file's content; null = flags only) the way the CLI options say. */
function parseConfig(opts: CliOptions, text: string | null): Config {
  const env = process.env;
  if (opts.configFile === null || text === null) return buildConfig(sidecarConfig(opts), { env });
  const overrides: { listen?: string[]; admin?: string } = {};
  if (opts.listen.length > 0) overrides.listen = opts.listen;
  if (opts.admin !== null) overrides.admin = opts.admin;
  return parseConfigText(text, opts.configFile, { env, overrides });
}

/** The config file's identity just before it was last read (watchConfig compares against it). */
let lastReadIdentity: string | null = null;

/** Reads the config file (if any) and validates it. Throws ConfigError. */
function loadConfig(opts: CliOptions): LoadedConfig {
  if (opts.configFile === null) return { config: parseConfig(opts, null), text: null };
  // Before reading: an edit landing during the read is seen as a change afterwards.
  lastReadIdentity = fileIdentitySync(opts.configFile);
  let text: string;
  try {
    text = readFileSync(opts.configFile, 'utf8');
  } catch {
    // The loader words a missing/unreadable file as a ConfigError naming the file.
    return { config: loadConfigFile(opts.configFile), text: null };
  }
  return { config: parseConfig(opts, text), text };
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseCli(argv, process.env);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`fairway: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (opts.command === 'version') {
    process.stdout.write(`fairway ${packageVersion() ?? 'unknown'}\n`);
    return 0;
  }

  const log = createLogger();
  if (cluster.isWorker) {
    // A worker runs the config its primary validated, sent over IPC: never the file as it
    // happens to be on disk when the worker (re)starts.
    return runWorker({
      log: log.child({ worker: Number(process.env['FAIRWAY_WORKER_INDEX'] ?? 0) }),
      parse: (text) => parseConfig(opts, text),
      reusePort: process.env['FAIRWAY_REUSE_PORT'] === '1',
    });
  }

  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(opts);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.format()}\n`);
      process.stderr.write(`fairway: ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'} in the config; nothing started\n`);
      return 1;
    }
    throw err;
  }
  const config = loaded.config;
  if (opts.command === 'check') {
    process.stdout.write(`${config.source ?? 'config'}: OK (${config.pools.size} pool${config.pools.size === 1 ? '' : 's'}, ${config.routes.length} route${config.routes.length === 1 ? '' : 's'})\n`);
    return 0;
  }

  if (config.workers > 1) {
    const reload = opts.configFile === null ? null : () => loadConfig(opts);
    return runPrimary(loaded, { log, reloadSource: reload, lastRead: () => lastReadIdentity, print: (line) => process.stdout.write(`${line}\n`), printError: (line) => process.stderr.write(`${line}\n`) });
  }
  const reloadSource = opts.configFile === null ? null : () => loadConfig(opts).config;
  let runtime: Runtime;
  try {
    runtime = await Runtime.start(config, { log, reloadSource });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`fairway: cannot start: ${e.message}\n`);
    return 1;
  }
  for (const url of runtime.urls()) process.stdout.write(`fairway listening on ${url}\n`);
  if (runtime.admin !== null) process.stdout.write(`admin listening on ${runtime.admin.url()}\n`);

  return runUntilStopped(
    {
      stop: () => runtime.close(runtime.current.config.shutdown.drainTimeoutMs),
      reload: () => runtime.reload(),
      reopenLogs: () => runtime.reopenLogs(),
      ...(opts.configFile === null
        ? {}
        : { watch: { file: opts.configFile, watchConfig: () => runtime.current.config.watchConfig, lastRead: () => lastReadIdentity } }),
    },
    log,
  ).exited;
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`fairway: unhandled rejection: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(70);
});
process.on('uncaughtException', (err) => {
  process.stderr.write(`fairway: uncaught exception: ${err.stack ?? String(err)}\n`);
  process.exit(70);
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fairway: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(70);
  },
);
