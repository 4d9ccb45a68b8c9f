import { describe, expect, it } from 'vitest';
import { hasDotSegment, rewritePath } from './route.ts';

describe('hasDotSegment', () => {
  it('finds . and .. segments, plain or percent-encoded, anywhere in the path', () => {
    for (const t of ['/.', '/..', '/a/./b', '/a/../b', '/a/..', '/sub/x/../../api', '/%2e%2e/x', '/a/%2E/b', '/a/.%2e/b', '/a/..?x=1'])
      expect(hasDotSegment(t), t).toBe(true);
  });

  it('leaves names with dots and the query alone', () => {
    for (const t of ['/', '/a.b', '/.well-known/x', '/a/...', '/a/..b', '/a/b..', '/%2e%2ex', '/a?x=/../', '/a/%2', '/a/%2e%2'])
      expect(hasDotSegment(t), t).toBe(false);
  });
});

describe('rewritePath', () => {
  it('replaces the prefix, keeps the query, never starts with //', () => {
    expect(rewritePath('/api/users?x=1', '/api', '/')).toBe('/users?x=1');
    expect(rewritePath('/api//x', '/api', '/')).toBe('/x');
    expect(rewritePath('/v1/a', '/v1/', '/v2/')).toBe('/v2/a');
  });
});
