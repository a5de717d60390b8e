/** Figures over rounds, as the benchmarks print them. */

/** The median; of an even count, the mean of the middle two; NaN of none. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length / 2;
  return Number.isInteger(mid)
    ? ((s[mid - 1] as number) + (s[mid] as number)) / 2
    : (s[Math.floor(mid)] as number);
}
