import { describe, expect, it } from 'vitest';
import { CliError, parseCli, sidecarConfig } from './cli.ts';

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
    expect(() => parseCli(['-c', 'f.yaml', '-u', 'http://a:1', '-l', ':1'], {})).toThrow(/cannot be combined/);
  });
});
