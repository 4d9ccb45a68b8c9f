import { describe, expect, it } from 'vitest';
import { mergeExpositions } from './merge.ts';
import { parsePromText } from './prom-text.testing.ts';

const w0 = `# HELP a_total A.\n# TYPE a_total counter\na_total{pool="p"} 1\n# HELP b B.\n# TYPE b gauge\nb 5\n`;
const w1 = `# HELP a_total A.\n# TYPE a_total counter\na_total{pool="p"} 2\n# HELP h H.\n# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_sum 1.5\nh_count 3\n`;

describe('mergeExpositions', () => {
  it('writes each family once and labels every sample with its worker', () => {
    const out = mergeExpositions([w0, w1]);
    expect(out).toBe(
      [
        '# HELP a_total A.', '# TYPE a_total counter', 'a_total{worker="0",pool="p"} 1', 'a_total{worker="1",pool="p"} 2',
        '# HELP b B.', '# TYPE b gauge', 'b{worker="0"} 5',
        '# HELP h H.', '# TYPE h histogram', 'h_bucket{worker="1",le="+Inf"} 3', 'h_sum{worker="1"} 1.5', 'h_count{worker="1"} 3',
        '',
      ].join('\n'),
    );
    expect(() => parsePromText(out)).not.toThrow();
  });
});
