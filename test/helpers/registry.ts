// Runtimes started by the current test, so setup.ts can check invariants and clean up.
import type { Runtime } from '../../src/runtime.ts';

export const allRuntimes = new Set<Runtime>();
