// The library's config error: every problem of a config object or file at once, as
// `{ path, message, line?, column?, file? }`. It is the loader's ConfigError (so everything
// that handles one handles this) with the problems in the spec's shape and a message that does
// not say `<flags>` for a config given as an object.

import { ConfigError, formatIssue, type ConfigIssue } from '../config/errors.ts';

/** One problem of a config. `line`/`column` (1-based) and `file` only for a config file. */
export interface ConfigProblem {
  /** Key path, e.g. `pools.api.balancer`; '' for the whole config. */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
  readonly file?: string;
}

function problemOf(issue: ConfigIssue): ConfigProblem {
  return {
    path: issue.path,
    message: issue.message,
    ...(issue.line === null ? {} : { line: issue.line, column: issue.column ?? 1 }),
    ...(issue.file === null ? {} : { file: issue.file }),
  };
}

/** `pools.api.balancer: must be …` (an object's problem), or the loader's `file:line:col path: …`. */
function describe(issue: ConfigIssue): string {
  if (issue.file !== null) return formatIssue(issue);
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/**
 * An invalid config: thrown (rejected) by start(), createProxy() and reload() before anything
 * starts or changes. `problems` lists every problem found, in file order.
 */
export class FairwayConfigError extends ConfigError {
  override readonly name = 'FairwayConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues);
    this.problems = Object.freeze(issues.map(problemOf));
    this.message = `invalid configuration (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}):\n${issues.map(describe).join('\n')}`;
  }

  /** The same error as a FairwayConfigError (a ConfigError from the loader is converted). */
  static from(err: ConfigError): FairwayConfigError {
    return err instanceof FairwayConfigError ? err : new FairwayConfigError(err.issues);
  }
}
