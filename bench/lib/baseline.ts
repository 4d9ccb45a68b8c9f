// `--baseline REF`: Fairway's tree at another git ref, materialized for one bench run. The tree is
// exported with `git archive` into a temp directory (no `git worktree add`: that would write
// metadata into the .git shared with the other worktrees), this checkout's node_modules is
// symlinked in, and the directory is removed afterwards. Owns no measuring, starts no process.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** A materialized tree of another ref. */
export interface BaselineTree {
  /** The ref as given on the command line ("baseline-v0.1"). */
  readonly ref: string;
  /** The commit it resolved to (full hash). */
  readonly commit: string;
  /** Root of the exported tree: `<dir>/bin/fairway.js` is the baseline's entry point. */
  readonly dir: string;
  /** Deletes the tree; safe to call twice. */
  remove(): void;
}

function git(repoDir: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd: repoDir, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * Resolves `ref` to a commit in `repoDir`, or throws with a message naming the ref. Cheap (one
 * `git rev-parse`), so callers can check a ref before a long run starts.
 */
export function resolveRef(repoDir: string, ref: string): string {
  if (ref === '' || ref.startsWith('-')) throw new Error(`--baseline: '${ref}' is not a git ref`);
  try {
    return git(repoDir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new Error(`--baseline: '${ref}' does not name a commit in ${repoDir} (git tag / git branch -a list what exists)`);
  }
}

/**
 * Exports `ref` into a new directory under `parentDir` and links `repoDir/node_modules` into it.
 * The baseline therefore runs with *this* checkout's dependencies: if the ref's package.json pins
 * other versions, the difference is not measured (the report says which commit ran; the caller
 * should compare lockfiles when in doubt). Takes about a second; throws if git or tar fail.
 */
export function materializeBaseline(repoDir: string, ref: string, parentDir: string): BaselineTree {
  const commit = resolveRef(repoDir, ref);
  const dir = mkdtempSync(path.join(parentDir, 'fairway-baseline-'));
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const tar = path.join(dir, '.tree.tar');
    git(repoDir, ['archive', '--format=tar', '-o', tar, commit]);
    execFileSync('tar', ['-xf', tar, '-C', dir], { timeout: 30_000, stdio: ['ignore', 'ignore', 'pipe'] });
    rmSync(tar);
    symlinkSync(path.join(repoDir, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  } catch (err) {
    remove();
    throw new Error(`--baseline ${ref}: cannot materialize ${commit.slice(0, 12)}: ${(err as Error).message}`);
  }
  return { ref, commit, dir, remove };
}
