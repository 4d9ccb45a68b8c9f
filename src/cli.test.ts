import { describe, expect, it } from 'vitest';
import { CliError, HELP, parseCli, sidecarConfig } from './cli.ts';
import { buildConfig } from './config/load.ts';

describe('parseCli', () => {
  it('defaults to ./fairway.yaml, then FAIRWAY_CONFIG, then --config', () => {
    expect(parseCli([], {}).configFile).toBe('fairway.yaml');
    expect(parseCli([], { FAIRWAY_CONFIG: '/etc/f.yaml' }).configFile).toBe('/etc/f.yaml');
    expect(parseCli(['--config', 'x.yaml'], { FAIRWAY_CONFIG: '/etc/f.yaml' }).configFile).toBe('x.yaml');
  });
  it('flags-only (sidecar) form when upstreams are given without --config, even with FAIRWAY_CONFIG set', () => {
    const o = parseCli(['--listen', ':8080', '-u', 'http://a:1', '-u', 'http://b:2', '-b', 'ewma'], { FAIRWAY_CONFIG: '/etc/f.yaml' });
    expect(o.configFile).toBeNull();
    expect(sidecarConfig(o)).toEqual({ listen: [':8080'], pools: { default: { balancer: 'ewma', upstreams: ['http://a:1', 'http://b:2'] } } });
  });
  it('check, help and version commands', () => {
    expect(parseCli(['check', '--config', 'f.yaml'], {}).command).toBe('check');
    expect(parseCli(['--help'], {}).command).toBe('help');
    expect(parseCli(['-v'], {}).command).toBe('version');
  });
  it('rejects unknown flags, unknown commands and contradictions', () => {
    expect(() => parseCli(['--nope'], {})).toThrow(CliError);
    expect(() => parseCli(['serve'], {})).toThrow(/unknown command/);
    expect(() => parseCli(['-u', 'http://a:1'], {})).toThrow(/--listen/);
    expect(() => parseCli(['-c', 'f.yaml', '-u', 'http://a:1', '-l', ':1'], {})).toThrow(/^--upstream builds a config without a file; it cannot be combined/);
  });
});

describe('--hash-key (sidecar form)', () => {
  const sidecar = ['--listen', '127.0.0.1:0', '-u', 'http://127.0.0.1:3001'];

  it('goes with --balancer consistent-hash into the pool hash key', () => {
    const o = parseCli([...sidecar, '--balancer', 'consistent-hash', '--hash-key', 'header:X-User-Id'], {});
    expect(o.hashKey).toBe('header:X-User-Id');
    const raw = sidecarConfig(o);
    expect(raw['pools']).toEqual({ default: { balancer: 'consistent-hash', hash: { key: 'header:X-User-Id' }, upstreams: ['http://127.0.0.1:3001'] } });
    expect(buildConfig(raw, { env: {} }).pools.get('default')?.hash).toEqual({ source: 'header', name: 'x-user-id', loadFactor: 1.25 });
    expect(parseCli([...sidecar, '-b', 'consistent-hash', '-k', 'client-ip'], {}).hashKey).toBe('client-ip');
  });

  it('is refused without consistent-hash, and consistent-hash is refused without it', () => {
    expect(() => parseCli([...sidecar, '--hash-key', 'path'], {})).toThrow(new CliError('--hash-key needs --balancer consistent-hash'));
    expect(() => parseCli([...sidecar, '-b', 'ewma', '--hash-key', 'path'], {})).toThrow(/--hash-key needs --balancer consistent-hash/);
    expect(() => parseCli([...sidecar, '-b', 'consistent-hash'], {})).toThrow(
      new CliError('--balancer consistent-hash needs --hash-key KEY (header:NAME, cookie:NAME, query:NAME, client-ip or path)'),
    );
    expect(() => parseCli(['-c', 'f.yaml', '--hash-key', 'path'], {})).toThrow(/--hash-key applies to the flags-only form/);
  });

  it('is in the help text', () => {
    expect(HELP).toContain('--hash-key KEY');
    expect(HELP).toContain('consistent-hash');
  });
});

describe('FAIRWAY_ADMIN_TOKEN (sidecar form)', () => {
  const sidecar = ['--listen', '127.0.0.1:0', '-u', 'http://127.0.0.1:3001'];

  it('becomes the admin token, as a reference the loader expands', () => {
    const o = parseCli([...sidecar, '--admin', '0.0.0.0:0'], { FAIRWAY_ADMIN_TOKEN: 's3cret' });
    expect(sidecarConfig(o)['admin']).toEqual({ listen: '0.0.0.0:0', token: '${FAIRWAY_ADMIN_TOKEN}' });
    expect(buildConfig(sidecarConfig(o), { env: { FAIRWAY_ADMIN_TOKEN: 's3cret' } }).admin).toEqual({ listen: { host: '0.0.0.0', port: 0 }, token: 's3cret' });
  });

  it('unset or empty: no token, so a non-loopback --admin is refused and a loopback one has none', () => {
    for (const env of [{}, { FAIRWAY_ADMIN_TOKEN: '' }]) {
      const open = parseCli([...sidecar, '--admin', '0.0.0.0:0'], env);
      expect(sidecarConfig(open)['admin']).toEqual({ listen: '0.0.0.0:0' });
      expect(() => buildConfig(sidecarConfig(open), { env })).toThrow(/<flags> admin\.listen: 0\.0\.0\.0:0 is not a loopback address, so the admin server needs admin\.token/);
      expect(buildConfig(sidecarConfig(parseCli([...sidecar, '--admin', '127.0.0.1:0'], env)), { env }).admin?.token).toBeNull();
    }
  });

  it('is not used without --admin', () => {
    expect(sidecarConfig(parseCli(sidecar, { FAIRWAY_ADMIN_TOKEN: 's3cret' }))['admin']).toBeUndefined();
  });
});

describe('--access-log (sidecar form)', () => {
  const sidecar = ['--listen', '127.0.0.1:0', '-u', 'http://127.0.0.1:3001'];

  it('turns the access log on, from the flag or FAIRWAY_ACCESS_LOG (the flag wins)', () => {
    expect(buildConfig(sidecarConfig(parseCli([...sidecar, '--access-log', 'stdout'], {})), { env: {} }).accessLog).toEqual({ path: 'stdout', format: 'json' });
    expect(sidecarConfig(parseCli(sidecar, { FAIRWAY_ACCESS_LOG: 'stderr' }))['accessLog']).toEqual({ path: 'stderr' });
    expect(sidecarConfig(parseCli([...sidecar, '--access-log', 'stdout'], { FAIRWAY_ACCESS_LOG: 'stderr' }))['accessLog']).toEqual({ path: 'stdout' });
    expect(sidecarConfig(parseCli(sidecar, {}))['accessLog']).toBeUndefined();
  });

  it('is refused with a config file, and FAIRWAY_ACCESS_LOG does not apply to one', () => {
    expect(() => parseCli(['--config', 'x.yaml', '--access-log', 'stdout'], {})).toThrow(CliError);
    expect(parseCli(['--config', 'x.yaml'], { FAIRWAY_ACCESS_LOG: 'stdout' }).accessLog).toBeNull();
    expect(HELP).toContain('--access-log PATH');
  });
});
