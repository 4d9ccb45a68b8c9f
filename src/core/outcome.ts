// What one attempt's end means for the upstream's health and balancing. Neutral: the request
// path (proxy/, server/) produces outcomes, health/ consumes them; neither imports the other
// for it.

/** What an attempt's outcome means for the upstream's health. */
export const Outcome = {
  /** A usable response (anything but 502/503/504). */
  Success: 0,
  /** Reset, timeout, malformed response or a 502/503/504 answer. */
  Failure: 1,
  /** Could not connect: refused, connect timeout, unreachable. */
  ConnectFailure: 2,
  /** The client went away, or the request was refused before reaching the upstream: says nothing about the upstream. */
  Neutral: 3,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];
