// FileWatch over a real file system, one look at a time (no timers): edits, renames into place
// and the Kubernetes ConfigMap `..data` swap are each reported once, after the new identity
// held for two looks; an unchanged file reports nothing; a stopped watch reports nothing.

import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configMapDir } from '../../test/helpers/configmap.ts';
import { fileIdentitySync } from './file-identity.ts';
import { FileWatch, Look } from './file-watch.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fairway-watch-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function watch(file: string): { w: FileWatch; calls: () => number } {
  let n = 0;
  const w = new FileWatch({ file, onChange: () => n++ });
  return { w, calls: () => n };
}

describe('FileWatch', () => {
  it('reports nothing while the file is unchanged', async () => {
    const f = path.join(dir, 'fairway.yaml');
    await writeFile(f, 'a: 1\n');
    const { w, calls } = watch(f);
    expect(await w.look()).toBe(Look.Unchanged); // baseline
    for (let i = 0; i < 3; i++) expect(await w.look()).toBe(Look.Unchanged);
    expect(calls()).toBe(0);
  });

  it('reports an edit once, after the new identity held for a second look', async () => {
    const f = path.join(dir, 'fairway.yaml');
    await writeFile(f, 'a: 1\n');
    const { w, calls } = watch(f);
    await w.look();
    await writeFile(f, 'a: 22\n');
    expect(await w.look()).toBe(Look.Settling);
    expect(calls()).toBe(0);
    expect(await w.look()).toBe(Look.Changed);
    expect(calls()).toBe(1);
    expect(await w.look()).toBe(Look.Unchanged);
    expect(calls()).toBe(1);
  });

  it('waits while a writer keeps changing the file (debounce), then reports once', async () => {
    const f = path.join(dir, 'fairway.yaml');
    await writeFile(f, 'a: 1\n');
    const { w, calls } = watch(f);
    await w.look();
    await writeFile(f, 'a: 12\n');
    expect(await w.look()).toBe(Look.Settling);
    await writeFile(f, 'a: 123\n');
    expect(await w.look()).toBe(Look.Settling);
    expect(await w.look()).toBe(Look.Changed);
    expect(calls()).toBe(1);
  });

  it('sees a new file renamed into place with the same size', async () => {
    const f = path.join(dir, 'fairway.yaml');
    await writeFile(f, 'a: 1\n');
    const { w, calls } = watch(f);
    await w.look();
    await writeFile(path.join(dir, 'tmp'), 'a: 2\n');
    await rename(path.join(dir, 'tmp'), f);
    await w.look();
    expect(await w.look()).toBe(Look.Changed);
    expect(calls()).toBe(1);
  });

  it('sees the Kubernetes ConfigMap swap (fairway.yaml -> ..data/fairway.yaml, ..data swapped)', async () => {
    const cm = await configMapDir(path.join(dir, 'cm'), { 'fairway.yaml': 'a: 1\n' });
    const { w, calls } = watch(cm.file('fairway.yaml'));
    await w.look();
    expect(await w.look()).toBe(Look.Unchanged);
    // Same contents and size: only the resolved path and inode move.
    await cm.update({ 'fairway.yaml': 'a: 1\n' });
    expect(await w.look()).toBe(Look.Settling);
    expect(await w.look()).toBe(Look.Changed);
    expect(calls()).toBe(1);
  });

  it('reports a file that disappears, and again when it comes back', async () => {
    const f = path.join(dir, 'fairway.yaml');
    await writeFile(f, 'a: 1\n');
    const { w, calls } = watch(f);
    await w.look();
    await rm(f);
    await w.look();
    expect(await w.look()).toBe(Look.Changed);
    await writeFile(f, 'a: 1\n');
    await w.look();
    expect(await w.look()).toBe(Look.Changed);
    expect(calls()).toBe(2);
  });

  it('reports nothing once stopped', async () => {
    const f = path.join(dir, 'fairway.yaml');
    await writeFile(f, 'a: 1\n');
    const { w, calls } = watch(f);
    await w.look();
    w.stop();
    await writeFile(f, 'a: 22\n');
    await w.look();
    await w.look();
    expect(calls()).toBe(0);
  });

  it('with lastRead: an edit made before the first look is seen; a read by another path moves the baseline', async () => {
    const f = path.join(dir, 'fairway.yaml');
    await writeFile(f, 'a: 1\n');
    let read = fileIdentitySync(f); // what the loader read
    let n = 0;
    const w = new FileWatch({ file: f, lastRead: () => read, onChange: () => n++ });
    await writeFile(f, 'a: 22\n'); // edited before the watch ever looked
    expect(await w.look()).toBe(Look.Settling);
    expect(await w.look()).toBe(Look.Changed);
    expect(n).toBe(1);
    // Another reload (a signal) read the next edit itself: nothing left to report.
    await writeFile(f, 'a: 333\n');
    read = fileIdentitySync(f);
    expect(await w.look()).toBe(Look.Unchanged);
    expect(await w.look()).toBe(Look.Unchanged);
    expect(n).toBe(1);
  });
});
