// The retry budget of one pool: retries may add a bounded share of the pool's requests, so a
// failing pool does not multiply its own load (Finagle/Linkerd style). Whether a given failure
// may be retried at all is proxy/retry.ts; this only counts.

const BUCKETS = 10;
const BUCKET_MS = 1000;

/**
 * Retry budget over a sliding 10 s window (Finagle/Linkerd style): retries may add
 * `percent`% of the requests seen in the window, plus `minPerSecond` × 10 s so a quiet pool
 * can still fail over. Counts live in ten 1 s buckets advanced lazily. O(1) per call
 * (amortized), allocates nothing after construction.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly floor: number;
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private requestSum = 0;
  private retrySum = 0;
  private epoch = -1;

  constructor(percent: number, minPerSecond: number) {
    this.ratio = percent / 100;
    this.floor = minPerSecond * (BUCKETS * BUCKET_MS / 1000);
  }

  /** Counts one client request (not a retry). */
  recordRequest(nowMs: number): void {
    const i = this.advance(nowMs);
    this.requests[i]!++;
    this.requestSum++;
  }

  /** Takes one retry from the budget if it allows one. */
  tryAcquire(nowMs: number): boolean {
    const i = this.advance(nowMs);
    if (this.retrySum >= this.requestSum * this.ratio + this.floor) return false;
    this.retries[i]!++;
    this.retrySum++;
    return true;
  }

  /** Retries the budget would still allow now (for /status). */
  available(nowMs: number): number {
    this.advance(nowMs);
    return Math.max(0, Math.floor(this.requestSum * this.ratio + this.floor - this.retrySum));
  }

  private advance(nowMs: number): number {
    const epoch = Math.floor(nowMs / BUCKET_MS);
    if (epoch !== this.epoch) {
      if (this.epoch < 0 || epoch - this.epoch >= BUCKETS) {
        this.requests.fill(0);
        this.retries.fill(0);
        this.requestSum = 0;
        this.retrySum = 0;
      } else {
        // Clear the buckets of the seconds that passed since the last call.
        for (let e = this.epoch + 1; e <= epoch; e++) {
          const j = e % BUCKETS;
          this.requestSum -= this.requests[j]!;
          this.retrySum -= this.retries[j]!;
          this.requests[j] = 0;
          this.retries[j] = 0;
        }
      }
      this.epoch = epoch;
    }
    return epoch % BUCKETS;
  }
}
