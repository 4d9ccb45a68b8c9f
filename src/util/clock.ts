// Monotonic time in milliseconds. Injectable so pure logic can be tested without timers.

/** Returns milliseconds from an arbitrary origin; never goes backwards. */
export type Clock = () => number;

/** The process clock: performance.now(), sub-millisecond, monotonic. */
export const now: Clock = () => performance.now();
