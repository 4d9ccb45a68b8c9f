// Test-only: a logger that keeps what it was told, for asserting log lines (health flips and
// the like). Never imported by runtime code.

import type { Logger } from './log.ts';

export interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

/** A Logger whose warn/info/error/debug calls land in `lines`. */
export function recordingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg });
  const log = { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { log, lines };
}
