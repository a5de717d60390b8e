/**
 * A benchmark's knobs from its environment, validated: a value that is not a whole number in
 * range stops the run at once, naming the variable and the rule, rather than a figure computed
 * from `NaN` (or a crash at the end of a ten-minute run).
 */
import { z } from 'zod';

/** `name` as a whole number of at least `min`, or `fallback` when it is not set. */
export function benchInt(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const parsed = z.coerce.number().int().min(min).safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `${name} must be a whole number of at least ${min}; it is ${JSON.stringify(raw)}`,
    );
  return parsed.data;
}
