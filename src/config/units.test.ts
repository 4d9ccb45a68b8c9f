import { describe, expect, it } from 'vitest';
import {
  DNS_SERVER_PATTERN,
  DURATION_PATTERN,
  HASH_KEY_PATTERN,
  LOAD_FACTOR_PATTERN,
  SIZE_PATTERN,
  UnitError,
  parseDnsServer,
  parseDuration,
  parseHashKey,
  parseListen,
  parseLoadFactor,
  parsePercent,
  parseSize,
  parseStatusSet,
  parseUpstreamUrl,
} from './units.ts';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['0', 0],
    ['250', 250],
    [250, 250],
    [0, 0],
    [1.4, 1],
  ] as const)('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['5 seconds', '5S', '', 's', '-1s', '1d', '5s ', '1.s'])('rejects %j with an example of the syntax', (input) => {
    expect(() => parseDuration(input)).toThrow(new UnitError(`invalid duration '${input}' (use e.g. 250ms, 5s, 1m)`));
  });

  it('rejects negative and non-finite numbers', () => {
    expect(() => parseDuration(-1)).toThrow('invalid duration -1 (must be a non-negative number of milliseconds)');
    expect(() => parseDuration(Number.POSITIVE_INFINITY)).toThrow(UnitError);
  });

  it('rejects durations a Node timer cannot wait for', () => {
    expect(parseDuration('596h')).toBe(596 * 3_600_000);
    expect(() => parseDuration('1000h')).toThrow("duration '1000h' is too long (at most 24 days, the limit of Node timers)");
  });

  it('agrees with the pattern the JSON Schema uses', () => {
    for (const s of ['250ms', '1m30s', '7', '5 seconds', '1d']) {
      expect(DURATION_PATTERN.test(s)).toBe(!throws(() => parseDuration(s)));
    }
  });
});

describe('parseSize', () => {
  it.each([
    ['512b', 512],
    ['16kb', 16_384],
    ['16KB', 16_384],
    ['16k', 16_384],
    ['16KiB', 16_384],
    ['10mb', 10 * 1024 ** 2],
    ['10M', 10 * 1024 ** 2],
    ['1gb', 1024 ** 3],
    ['1g', 1024 ** 3],
    ['1.5kb', 1536],
    ['100', 100],
    [0, 0],
    [4096, 4096],
  ] as const)('%s → %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each(['10 megs', 'kb', '-1kb', '1tb', '1bk', '1ki', ''])('rejects %j', (input) => {
    expect(() => parseSize(input)).toThrow(new UnitError(`invalid size '${input}' (use e.g. 512b, 16kb, 10mb, 1gb)`));
  });

  it('rejects negative numbers', () => {
    expect(() => parseSize(-5)).toThrow('invalid size -5');
  });

  it('agrees with the pattern the JSON Schema uses', () => {
    for (const s of ['16kb', '16 KB', '1gib', '512', '1ki', '10 megs', '1tb']) {
      expect(SIZE_PATTERN.test(s)).toBe(!throws(() => parseSize(s)));
    }
  });
});

describe('parsePercent', () => {
  it.each([
    ['20%', 20],
    ['12.5%', 12.5],
    ['0%', 0],
    ['100%', 100],
    ['20', 20],
    [50, 50],
  ] as const)('%s → %d', (input, n) => {
    expect(parsePercent(input)).toBe(n);
  });

  it('rejects malformed values and values outside 0-100', () => {
    expect(() => parsePercent('twenty')).toThrow("invalid percentage 'twenty' (use e.g. 20%)");
    expect(() => parsePercent('120%')).toThrow("percentage '120%' must be between 0% and 100%");
    expect(() => parsePercent(-1)).toThrow('percentage -1 must be between 0% and 100%');
  });
});

describe('parseStatusSet', () => {
  it('accepts a code, a range, a comma list and a list of those, in the order written', () => {
    expect(parseStatusSet(200)).toEqual([[200, 200]]);
    expect(parseStatusSet('200-399')).toEqual([[200, 399]]);
    expect(parseStatusSet('200, 204')).toEqual([
      [200, 200],
      [204, 204],
    ]);
    expect(parseStatusSet([200, '300-302', '404,410'])).toEqual([
      [200, 200],
      [300, 302],
      [404, 404],
      [410, 410],
    ]);
  });

  it('returns frozen ranges', () => {
    const set = parseStatusSet('200-299');
    expect(Object.isFrozen(set)).toBe(true);
    expect(Object.isFrozen(set[0])).toBe(true);
  });

  it('rejects malformed items, codes outside 100-599, reversed ranges and empty lists', () => {
    expect(() => parseStatusSet('2xx')).toThrow("invalid status '2xx' (use a code like 200, a range like 200-399, or a list of them)");
    expect(() => parseStatusSet(99)).toThrow('invalid status 99');
    expect(() => parseStatusSet(600)).toThrow('status 600 is outside 100-599');
    expect(() => parseStatusSet('200-700')).toThrow('status 700 is outside 100-599');
    expect(() => parseStatusSet('399-200')).toThrow('status range 399-200 is reversed (write 200-399)');
    expect(() => parseStatusSet([])).toThrow('must list at least one status');
    expect(() => parseStatusSet('200,')).toThrow("invalid status ''");
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:8080', '127.0.0.1', 8080],
    [':8080', '0.0.0.0', 8080],
    ['[::1]:8080', '::1', 8080],
    ['[::]:80', '::', 80],
    ['localhost:3000', 'localhost', 3000],
    ['127.0.0.1:0', '127.0.0.1', 0],
    [':65535', '0.0.0.0', 65535],
  ] as const)('%s → %s port %d', (input, host, port) => {
    expect(parseListen(input)).toEqual({ host, port });
  });

  it('explains what is wrong', () => {
    const usage = '(use "host:port", ":port" or "[::1]:port")';
    expect(() => parseListen('8080')).toThrow(`invalid listen address '8080': missing port ${usage}`);
    expect(() => parseListen('::1:8080')).toThrow(`invalid listen address '::1:8080': put an IPv6 address in brackets ${usage}`);
    expect(() => parseListen(':99999')).toThrow("invalid listen address ':99999': port 99999 is out of range 0-65535");
    expect(() => parseListen('[nope]:80')).toThrow("'nope' is not an IPv6 address");
    expect(() => parseListen('bad host:80')).toThrow("'bad host' is not a host name or IP address");
    expect(() => parseListen('host:')).toThrow(`invalid listen address 'host:' ${usage}`);
  });
});

describe('parseUpstreamUrl', () => {
  it('makes the origin explicit and lower-cased, and drops a trailing slash from the URL', () => {
    expect(parseUpstreamUrl('http://127.0.0.1:3000')).toEqual({ url: 'http://127.0.0.1:3000', origin: 'http://127.0.0.1:3000' });
    expect(parseUpstreamUrl('http://Backend.Local/')).toEqual({ url: 'http://Backend.Local', origin: 'http://backend.local:80' });
    expect(parseUpstreamUrl('https://127.0.0.1')).toEqual({ url: 'https://127.0.0.1', origin: 'https://127.0.0.1:443' });
    expect(parseUpstreamUrl('http://[::1]:3000')).toEqual({ url: 'http://[::1]:3000', origin: 'http://[::1]:3000' });
    expect(parseUpstreamUrl('http://127.0.0.1:80').origin).toBe('http://127.0.0.1:80');
  });

  it('rejects anything but scheme, host and port', () => {
    expect(() => parseUpstreamUrl('127.0.0.1:3000')).toThrow("URL '127.0.0.1:3000' must start with http:// or https://");
    expect(() => parseUpstreamUrl('ftp://127.0.0.1')).toThrow('must start with http:// or https://');
    expect(() => parseUpstreamUrl('not a url')).toThrow("URL 'not a url' must start with http:// or https://");
    expect(() => parseUpstreamUrl('http://exa mple')).toThrow("invalid URL 'http://exa mple' (e.g. http://127.0.0.1:3000)");
    expect(() => parseUpstreamUrl('http://127.0.0.1:3000/api')).toThrow("must not have a path (/api); each request's own path is forwarded");
    expect(() => parseUpstreamUrl('http://127.0.0.1:3000/?a=1')).toThrow('must not have a query or fragment');
    expect(() => parseUpstreamUrl('http://127.0.0.1:3000/#x')).toThrow('must not have a query or fragment');
    expect(() => parseUpstreamUrl('http://u:p@127.0.0.1:3000')).toThrow('must not contain credentials');
    expect(() => parseUpstreamUrl('http://127.0.0.1:99999')).toThrow('invalid URL');
  });
});

function throws(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}

describe('parseHashKey', () => {
  it.each([
    ['header:X-User-Id', { source: 'header', name: 'x-user-id' }],
    ['cookie:SessionID', { source: 'cookie', name: 'SessionID' }],
    ['query:uid', { source: 'query', name: 'uid' }],
    ['client-ip', { source: 'client-ip', name: null }],
    ['path', { source: 'path', name: null }],
  ] as const)('%s', (input, key) => {
    expect(parseHashKey(input)).toEqual(key);
    expect(HASH_KEY_PATTERN.test(input)).toBe(true);
  });

  it('explains a bad key, with a hint for a misspelled source', () => {
    expect(() => parseHashKey('heder:x-user')).toThrow(
      new UnitError("invalid hash key 'heder:x-user': use header:NAME, cookie:NAME, query:NAME, client-ip or path (did you mean 'header:x-user'?)"),
    );
    expect(() => parseHashKey('clientip')).toThrow("(did you mean 'client-ip'?)");
    expect(() => parseHashKey('ip')).toThrow("invalid hash key 'ip': use header:NAME, cookie:NAME, query:NAME, client-ip or path");
    expect(() => parseHashKey('header:')).toThrow("hash key 'header:' needs a name after 'header:' (e.g. header:x-user-id)");
    expect(() => parseHashKey('cookie:a b')).toThrow("hash key 'cookie:a b': 'a b' is not a valid cookie name");
    expect(() => parseHashKey('query:a=b')).toThrow("'a=b' is not a valid query name");
  });
});

describe('parseLoadFactor', () => {
  it('reads percentages of 100 or more as a factor, and off as null', () => {
    expect(parseLoadFactor('125%')).toBe(1.25);
    expect(parseLoadFactor('100%')).toBe(1);
    expect(parseLoadFactor(200)).toBe(2);
    expect(parseLoadFactor('150')).toBe(1.5);
    expect(parseLoadFactor('off')).toBeNull();
  });

  it('rejects factors below 100%, hinting at a factor written as a ratio', () => {
    expect(() => parseLoadFactor(1.25)).toThrow('load factor 1.25 must be at least 100% (write 125% for 1.25 times the mean)');
    expect(() => parseLoadFactor('99%')).toThrow("load factor '99%' must be at least 100%");
    expect(() => parseLoadFactor('none')).toThrow("invalid load factor 'none' (use a percentage like 125%, or off)");
  });

  it('agrees with the pattern the JSON Schema uses on well-formed strings', () => {
    for (const s of ['125%', 'off', '150']) expect(LOAD_FACTOR_PATTERN.test(s)).toBe(true);
    for (const s of ['none', '1.2x', '-5%']) expect(LOAD_FACTOR_PATTERN.test(s)).toBe(false);
  });
});

describe('parseDnsServer', () => {
  it.each([
    ['10.0.0.2', '10.0.0.2:53'],
    ['10.0.0.2:5353', '10.0.0.2:5353'],
    ['::1', '[::1]:53'],
    ['[::1]', '[::1]:53'],
    ['[fd00::53]:5353', '[fd00::53]:5353'],
  ])('%s → %s', (input, normalized) => {
    expect(parseDnsServer(input)).toBe(normalized);
    expect(DNS_SERVER_PATTERN.test(input)).toBe(true);
  });

  it('refuses names, bad ports and bracketless IPv6 with a port', () => {
    expect(() => parseDnsServer('dns.local')).toThrow("invalid DNS server 'dns.local': must be an IP address (use e.g. 10.0.0.2, 10.0.0.2:5353 or [::1]:53)");
    expect(() => parseDnsServer('10.0.0.2:0')).toThrow('port 0 is out of range 1-65535');
    expect(() => parseDnsServer('10.0.0.2:70000')).toThrow('port 70000 is out of range 1-65535');
    expect(() => parseDnsServer('[10.0.0.2]:53')).toThrow("'10.0.0.2' is not an IPv6 address");
    expect(() => parseDnsServer('fd00::zz:53')).toThrow('put an IPv6 address in brackets to give a port');
  });
});
