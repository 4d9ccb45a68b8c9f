import { describe, expect, it } from 'vitest';
import { ConfigError, didYouMean, editDistance, formatIssue, formatKeyPath, suggestion, type ConfigIssue } from './errors.ts';

const issue = (over: Partial<ConfigIssue>): ConfigIssue => ({
  file: 'fairway.yaml',
  line: 14,
  column: 7,
  path: 'pools.api.balancer',
  message: 'must be one of round-robin, random, least-connections, ewma',
  ...over,
});

describe('formatIssue', () => {
  it('writes file:line:col path: message', () => {
    expect(formatIssue(issue({}))).toBe('fairway.yaml:14:7 pools.api.balancer: must be one of round-robin, random, least-connections, ewma');
  });

  it('leaves out line and column when unknown, and the path when empty', () => {
    expect(formatIssue(issue({ line: null, column: null, path: 'pools', message: 'is required' }))).toBe('fairway.yaml pools: is required');
    expect(formatIssue(issue({ line: 3, column: 1, path: '', message: 'invalid YAML: x' }))).toBe('fairway.yaml:3:1: invalid YAML: x');
    expect(formatIssue(issue({ line: null, column: null, path: '', message: 'cannot read' }))).toBe('fairway.yaml: cannot read');
  });

  it('prefixes values that came from flags with <flags>', () => {
    expect(formatIssue(issue({ file: null, line: null, column: null, path: 'listen[0]', message: 'bad' }))).toBe('<flags> listen[0]: bad');
  });
});

describe('ConfigError', () => {
  it('carries every issue, formats one line each, and lists them in its message', () => {
    const err = new ConfigError([issue({}), issue({ line: 20, column: 3, path: 'routes[0].pool', message: "unknown pool 'x'" })]);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ConfigError');
    expect(err.issues).toHaveLength(2);
    expect(err.format().split('\n')).toEqual([
      'fairway.yaml:14:7 pools.api.balancer: must be one of round-robin, random, least-connections, ewma',
      "fairway.yaml:20:3 routes[0].pool: unknown pool 'x'",
    ]);
    expect(err.message).toBe(`invalid configuration (2 problems):\n${err.format()}`);
    expect(ConfigError.formatIssue(issue({}))).toBe(formatIssue(issue({})));
    expect(Object.isFrozen(err.issues)).toBe(true);
  });
});

describe('formatKeyPath', () => {
  it('uses dots for keys and [i] for indexes', () => {
    expect(formatKeyPath(['pools', 'api', 'upstreams', 1, 'url'])).toBe('pools.api.upstreams[1].url');
    expect(formatKeyPath(['routes', 0])).toBe('routes[0]');
    expect(formatKeyPath([])).toBe('');
  });

  it('quotes keys that would be ambiguous', () => {
    expect(formatKeyPath(['pools', 'a.b'])).toBe('pools["a.b"]');
    expect(formatKeyPath(['my key'])).toBe('["my key"]');
  });
});

describe('did you mean', () => {
  it('counts insertions, deletions, substitutions and adjacent swaps as one edit', () => {
    expect(editDistance('balancr', 'balancer')).toBe(1);
    expect(editDistance('balancerr', 'balancer')).toBe(1);
    expect(editDistance('balancor', 'balancer')).toBe(1);
    expect(editDistance('balnacer', 'balancer')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests the closest candidate when it is a plausible typo', () => {
    const keys = ['balancer', 'upstreams', 'healthCheck', 'retry'];
    expect(didYouMean('balancr', keys)).toBe('balancer');
    expect(didYouMean('healthcheck', keys)).toBe('healthCheck');
    expect(didYouMean('upstream', keys)).toBe('upstreams');
    expect(didYouMean('apii', ['api', 'web'])).toBe('api');
    expect(didYouMean('heathCheck', keys)).toBe('healthCheck');
  });

  it('stays quiet when nothing is close', () => {
    expect(didYouMean('colour', ['balancer', 'upstreams'])).toBeUndefined();
    // Not a typo but part of a key: the key that contains it.
    expect(didYouMean('path', ['host', 'pathPrefix'])).toBe('pathPrefix');
    expect(didYouMean('prefix', ['host', 'pathPrefix'])).toBe('pathPrefix');
    expect(didYouMean('pat', ['host', 'pathPrefix'])).toBeUndefined();
    expect(didYouMean('xyz', ['api'])).toBeUndefined();
    expect(didYouMean('anything', [])).toBeUndefined();
    expect(suggestion('zzzzzz', ['balancer'])).toBe('');
    expect(suggestion('balancr', ['balancer'])).toBe(" (did you mean 'balancer'?)");
  });
});
