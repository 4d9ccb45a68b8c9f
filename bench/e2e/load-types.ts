// The contract between the harness and the load-generator process (bench/e2e/load.ts): what to
// run (LoadSpec, passed as one JSON argument) and what comes back (LoadResult, one JSON line).

export interface LoadSpec {
  url: string;
  connections: number;
  /** Measured seconds (autocannon `duration`; fractional is fine, sampled every 250 ms). */
  durationS: number;
  /** Unmeasured autocannon run just before, same options; 0 = none. */
  warmupS: number;
  /** Requests per second: autocannon `overallRate` (per-connection quota per second, bursty), or with `open` the constant rate. */
  rate?: number;
  /** Open loop at a constant `rate` (bench/e2e/open-loop.ts) instead of autocannon. */
  open?: boolean;
  /** Per-request timeout, seconds. */
  timeoutS: number;
  /** Processes whose CPU time and peak RSS are read around the measured run. */
  pids: number[];
  /** URLs answering JSON, read just before and just after the measured run (counters, /status). */
  probes: string[];
  /** SIGKILL this pid `atS` seconds into the measured run. */
  kill?: { pid: number; atS: number };
  /** Headers sent with every request (e.g. a consistent-hash key). */
  headers?: Record<string, string>;
  /** Open loop only: a key header that varies per request (the hot-key scenario). */
  keys?: KeySpec;
}

/** Per-request keys: `hot` with probability `hotShare`, else one of `count` others at random. */
export interface KeySpec {
  header: string;
  hotShare: number;
  count: number;
}

export interface LoadResult {
  url: string;
  elapsedS: number;
  /** 2xx responses. */
  ok: number;
  /** Responses with any other status. */
  non2xx: number;
  /** Socket errors (autocannon `errors`, which includes timeouts). */
  errors: number;
  timeouts: number;
  resets: number;
  errorKinds: Record<string, number>;
  statusCodes: Record<string, number>;
  /** Responses per second over the measured run. */
  rps: number;
  /** 2xx latency from the load generator's own µs histogram (no coordinated-omission correction). */
  latencyUs: { p50: number | null; p99: number | null; p99_9: number | null; max: number | null };
  /** autocannon's own latency figures (whole milliseconds only); null for the open loop. */
  autocannonMs: { p50: number; p99: number; p99_9: number; max: number } | null;
  /** CPU seconds (user + system) of each `pids` entry over the measured run; null if unreadable. */
  cpuS: (number | null)[];
  /** The kernel part (stime) of `cpuS`: syscalls and page faults, not softirq. */
  cpuSysS: (number | null)[];
  /** Minor page faults of each `pids` entry over the run (fresh pages: GC semi-space turnover shows here). */
  minorFaults?: (number | null)[];
  peakRssKiB: (number | null)[];
  /** CPU seconds the load generator itself used while measuring. */
  loadCpuS: number;
  /** CPU seconds the whole machine was busy (all processes, all cores) over the measured run. */
  systemBusyS: number | null;
  probesBefore: unknown[];
  probesAfter: unknown[];
  killedAtS: number | null;
}
