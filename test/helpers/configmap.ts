// A directory laid out as the kubelet lays out a mounted ConfigMap: each file is a symlink
// `NAME -> ..data/NAME`, `..data` is a symlink to a `..gen_N` directory, and an update writes a
// new generation and swaps `..data` in one rename (atomic), then removes the old generation.

import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ConfigMapDir {
  /** The path a process is given for `name` (the top-level symlink). */
  file(name: string): string;
  /** Publishes a new generation holding `files` (every name given at creation must be in it). */
  update(files: Readonly<Record<string, string>>): Promise<void>;
}

/** Creates the layout under `root` with `files` as its first generation. */
export async function configMapDir(root: string, files: Readonly<Record<string, string>>): Promise<ConfigMapDir> {
  await mkdir(root, { recursive: true });
  let generation = 0;
  const write = async (contents: Readonly<Record<string, string>>): Promise<string> => {
    const name = `..gen_${++generation}`;
    await mkdir(path.join(root, name));
    for (const [file, text] of Object.entries(contents)) await writeFile(path.join(root, name, file), text);
    return name;
  };
  let current = await write(files);
  await symlink(current, path.join(root, '..data'));
  for (const name of Object.keys(files)) await symlink(path.join('..data', name), path.join(root, name));
  return {
    file: (name) => path.join(root, name),
    async update(next) {
      const old = current;
      current = await write(next);
      await symlink(current, path.join(root, '..data_tmp'));
      await rename(path.join(root, '..data_tmp'), path.join(root, '..data'));
      await rm(path.join(root, old), { recursive: true, force: true });
    },
  };
}
