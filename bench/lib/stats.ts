// Small numeric helpers for reports: median, min/max, and number formatting. Pure.

/** Median of the finite values, or null when there are none. */
export function median(xs: readonly (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function minMax(xs: readonly (number | null | undefined)[]): [number, number] | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? null : [Math.min(...v), Math.max(...v)];
}

/** 31234.5 → "31,235". */
export function int(x: number | null): string {
  return x === null ? '–' : Math.round(x).toLocaleString('en-US');
}

/** A number with `digits` decimals, or "–". */
export function fix(x: number | null, digits = 1): string {
  return x === null ? '–' : x.toFixed(digits);
}

/** A ratio as "0.42×". */
export function ratio(x: number | null): string {
  return x === null ? '–' : `${x.toFixed(2)}×`;
}

/** Microseconds as milliseconds with 2 decimals: 1234 → "1.23". */
export function usAsMs(us: number | null): string {
  return us === null ? '–' : (us / 1000).toFixed(2);
}

/** Seconds as m:ss. */
export function clock(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}
