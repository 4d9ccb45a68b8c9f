// How strict the proxy is with an upstream's response head beyond what undici's parser checks:
// a status in 100-599, a bounded number of fields (undici has no count limit), and no transfer
// coding but chunked (undici decodes only chunked: `gzip, chunked` would reach the client as
// undeclared gzip). What undici itself refuses is measured in test/edge/undici-probes.test.ts.

/** The most header fields an upstream response may carry (spec: more than 100 → 502). */
export const MAX_RESPONSE_FIELDS = 100;

/** Why a response head is refused (502 bad-response), or null. O(1) plus the TE value; allocates nothing. */
export function responseHeadProblem(
  status: number,
  fieldCount: number,
  transferEncoding: string | readonly string[] | undefined,
  maxHeaderCount: number,
): 'status' | 'too-many-fields' | 'transfer-encoding' | null {
  if (status < 100 || status > 599) return 'status';
  if (fieldCount > maxHeaderCount) return 'too-many-fields';
  if (transferEncoding === undefined) return null;
  if (typeof transferEncoding !== 'string') return 'transfer-encoding';
  return transferEncoding.trim().toLowerCase() === 'chunked' ? null : 'transfer-encoding';
}
