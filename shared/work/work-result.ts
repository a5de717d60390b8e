/** What a work item keeps of its op's result: its record is one DynamoDB item (400 KB). */

/**
 * The most bytes of JSON a work item keeps as its result: its record must stay within
 * DynamoDB's 400 KB item, beside its args and state.
 */
export const MAX_RESULT_BYTES = 256 * 1024;

/** Why `result` is too large to keep, or undefined when it fits. */
export function resultTooLarge(result: unknown): string | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(result ?? null), 'utf8');
  if (bytes <= MAX_RESULT_BYTES) return undefined;
  return `the op's result is ${bytes} bytes of JSON, more than the ${MAX_RESULT_BYTES} an item keeps: narrow it (a prefix, a pattern) or have it write an output object`;
}
