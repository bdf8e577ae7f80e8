/** The numbers a table or a claim summarises a list with: mean, standard deviation, median. */

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator; 0 for one value). */
  std: number;
  median: number;
  min: number;
  max: number;
}

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: ArrayLike<number>): number {
  return summarize(values).median;
}

export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n === 0) throw new Error("summarize: no values");
  const sorted = Float64Array.from(values).sort();
  if (Number.isNaN(sorted[n - 1])) throw new Error("summarize: a value is NaN");
  const mean = sorted.reduce((a, v) => a + v, 0) / n;
  const variance = n > 1 ? sorted.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  const mid = n >> 1;
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    n,
    mean,
    std: Math.sqrt(variance),
    median,
    min: sorted[0]!,
    max: sorted[n - 1]!,
  };
}
