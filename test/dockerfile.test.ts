// No Docker engine runs here, so the Dockerfile's rules are checked statically.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const text = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
const lines = text.split('\n').filter((l) => !l.trim().startsWith('#'));
const final = lines.slice(lines.map((l) => l.startsWith('FROM')).lastIndexOf(true));

describe('Dockerfile', () => {
  it('builds on the official Node 24 image, multi-stage', () => {
    const froms = lines.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^FROM node:24(-slim|-alpine)?\b/);
  });

  it('runs as a non-root user in the final stage', () => {
    const user = final.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER\s+(root|0)(:|\s|$)/);
  });

  it('has `fairway` as its entrypoint, never `npm start`', () => {
    expect(final.some((l) => /^ENTRYPOINT \["fairway"\]/.test(l))).toBe(true);
    expect(text).not.toMatch(/npm (run )?start/);
  });

  it('installs runtime dependencies only, without install scripts, from the lockfile', () => {
    expect(text).toMatch(/npm ci --omit=dev --ignore-scripts/);
  });

  it('reads its config from /etc/fairway/fairway.yaml', () => {
    expect(text).toContain('FAIRWAY_CONFIG=/etc/fairway/fairway.yaml');
  });
});
