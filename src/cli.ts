// Command-line parsing (node:util parseArgs: built in, no dependency) into CliOptions. Pure: no
// I/O, no process.exit. main.ts acts on the result.

import { parseArgs } from 'node:util';

export const HELP = `fairway: a fast HTTP reverse proxy and load balancer

Usage:
  fairway [--config FILE] [--listen ADDR] [--admin ADDR]
  fairway --listen ADDR --upstream URL [--upstream URL ...] [--balancer NAME] [--hash-key KEY] [--access-log PATH] [--admin ADDR]
  fairway check --config FILE
  fairway --help | --version

Run with a config file (the front-proxy case):
  fairway --config fairway.yaml
  The file is FILE, else $FAIRWAY_CONFIG, else ./fairway.yaml.
  --listen and --admin given with a file override its top-level listen / admin.listen.

Run without a file (the sidecar case): one pool, one default route.
  fairway --listen 127.0.0.1:8080 --upstream http://127.0.0.1:3000 --upstream http://127.0.0.1:3001 --balancer ewma
  Session affinity: --balancer consistent-hash --hash-key header:x-user-id
  An --admin address off loopback needs a token: it is read from $FAIRWAY_ADMIN_TOKEN.

Validate a config and exit (0 = valid, 1 = errors listed as file:line:col key: message):
  fairway check --config fairway.yaml

Options:
  -c, --config FILE      YAML config file
  -l, --listen ADDR      address to serve on: host:port or :port (repeatable)
  -u, --upstream URL     upstream server, e.g. http://127.0.0.1:3000 (repeatable; sidecar form)
  -b, --balancer NAME    round-robin | random | least-connections | ewma | consistent-hash
                         (sidecar form; default round-robin)
  -k, --hash-key KEY     consistent-hash key: header:NAME | cookie:NAME | query:NAME | client-ip | path
                         (sidecar form; needs --balancer consistent-hash)
      --access-log PATH  sidecar form: one JSON line per request to PATH (stdout, stderr or a file;
                         default $FAIRWAY_ACCESS_LOG, else off)
  -a, --admin ADDR       serve the dashboard (/) and /healthz /readyz /metrics /status /reload on ADDR,
                         e.g. 127.0.0.1:9901
                         (sidecar form: bearer token from $FAIRWAY_ADMIN_TOKEN; required off loopback)
  -h, --help             show this help
  -v, --version          print the version

Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config file; SIGUSR1 reopens the access log.
Logs: JSON lines on stderr (FAIRWAY_LOG_LEVEL=debug|info|warn|error|silent; default info).
Config reference: config/fairway.yaml. Docs: README.md.
`;

export type CliCommand = 'run' | 'check' | 'help' | 'version';

export interface CliOptions {
  command: CliCommand;
  /** The config file to read, or null for the flags-only (sidecar) form. */
  configFile: string | null;
  /** True when the file was named explicitly (flag or env), so a missing file is an error. */
  configExplicit: boolean;
  listen: string[];
  upstreams: string[];
  balancer: string | null;
  /** --hash-key: the consistent-hash key of the sidecar pool. */
  hashKey: string | null;
  /** --access-log (or FAIRWAY_ACCESS_LOG) in the flags-only form: where the access log goes. */
  accessLog: string | null;
  admin: string | null;
  /** FAIRWAY_ADMIN_TOKEN is set (and not empty): the sidecar admin server takes its token from it. */
  adminTokenFromEnv: boolean;
}

export class CliError extends Error {}

/**
 * Parses argv (without node and script). The config file is --config, else FAIRWAY_CONFIG,
 * else ./fairway.yaml, except that --upstream without --config/FAIRWAY_CONFIG means the
 * flags-only form.
 */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string', short: 'l', multiple: true },
        upstream: { type: 'string', short: 'u', multiple: true },
        balancer: { type: 'string', short: 'b' },
        'hash-key': { type: 'string', short: 'k' },
        'access-log': { type: 'string' },
        admin: { type: 'string', short: 'a' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nRun 'fairway --help' for usage.`);
  }
  const { values, positionals } = parsed;
  let command: CliCommand = 'run';
  if (positionals.length > 0) {
    if (positionals[0] === 'check' && positionals.length === 1) command = 'check';
    else throw new CliError(`unknown command '${positionals.join(' ')}'\nRun 'fairway --help' for usage.`);
  }
  if (values.help) command = 'help';
  else if (values.version) command = 'version';

  const upstreams = values.upstream ?? [];
  const fromEnv = env['FAIRWAY_CONFIG'] !== undefined && env['FAIRWAY_CONFIG'] !== '' ? env['FAIRWAY_CONFIG'] : null;
  // --upstream means the flags-only form unless --config is given too (an error below):
  // FAIRWAY_CONFIG set in an image must not turn sidecar flags into a conflict.
  const sidecar = upstreams.length > 0 && values.config === undefined && command !== 'check';
  const configFile: string | null = sidecar ? null : (values.config ?? fromEnv ?? 'fairway.yaml');
  const configExplicit = values.config !== undefined || (!sidecar && fromEnv !== null);

  const opts: CliOptions = {
    command,
    configFile,
    configExplicit,
    listen: values.listen ?? [],
    upstreams,
    balancer: values.balancer ?? null,
    hashKey: values['hash-key'] ?? null,
    accessLog: values['access-log'] ?? (configFile === null && env['FAIRWAY_ACCESS_LOG'] ? env['FAIRWAY_ACCESS_LOG'] : null),
    admin: values.admin ?? null,
    adminTokenFromEnv: env['FAIRWAY_ADMIN_TOKEN'] !== undefined && env['FAIRWAY_ADMIN_TOKEN'] !== '',
  };
  if (command === 'run' && configFile === null && opts.listen.length === 0) {
    throw new CliError('--upstream needs --listen (e.g. --listen 127.0.0.1:8080)');
  }
  if (configFile !== null && upstreams.length > 0) {
    throw new CliError('--upstream builds a config without a file; it cannot be combined with a config file (list upstreams under pools in the file)');
  }
  if (configFile !== null && opts.balancer !== null) {
    throw new CliError('--balancer applies to the flags-only form; set pools.<name>.balancer in the config file');
  }
  if (configFile !== null && values['access-log'] !== undefined) {
    throw new CliError('--access-log applies to the flags-only form; set accessLog in the config file');
  }
  if (configFile !== null && opts.hashKey !== null) {
    throw new CliError('--hash-key applies to the flags-only form; set pools.<name>.hash.key in the config file');
  }
  if (opts.hashKey !== null && opts.balancer !== 'consistent-hash') {
    throw new CliError('--hash-key needs --balancer consistent-hash');
  }
  if (configFile === null && opts.balancer === 'consistent-hash' && opts.hashKey === null) {
    throw new CliError('--balancer consistent-hash needs --hash-key KEY (header:NAME, cookie:NAME, query:NAME, client-ip or path)');
  }
  return opts;
}

/**
 * The raw config object the flags-only (sidecar) form stands for. The admin token is written
 * as the reference `${FAIRWAY_ADMIN_TOKEN}`, expanded by the loader like any config value, so
 * the secret itself never sits in the options.
 */
export function sidecarConfig(opts: CliOptions): Record<string, unknown> {
  const raw: Record<string, unknown> = {
    listen: opts.listen,
    pools: {
      default: {
        ...(opts.balancer !== null ? { balancer: opts.balancer } : {}),
        ...(opts.hashKey !== null ? { hash: { key: opts.hashKey } } : {}),
        upstreams: opts.upstreams,
      },
    },
  };
  if (opts.accessLog !== null) raw['accessLog'] = { path: opts.accessLog };
  if (opts.admin !== null) raw['admin'] = { listen: opts.admin, ...(opts.adminTokenFromEnv ? { token: '${FAIRWAY_ADMIN_TOKEN}' } : {}) };
  return raw;
}
