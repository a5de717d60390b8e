/** `grep`: a JavaScript regular expression, line by line, over every object under a prefix. */
import { z } from 'zod';
import { strictObject } from '../../validate.ts';
import { prefixArg, type WorkOp } from '../op.ts';

/** Matching lines the result lists at most; `matches` counts all. */
export const GREP_RESULT_LIMIT = 100;
/**
 * Characters of a matching line a result keeps: a minified JSON document or a CSV with no line
 * breaks is one line, which whole would outgrow the item's record (MAX_RESULT_BYTES in worker.ts).
 */
export const GREP_TEXT_LIMIT = 512;

const FLAGS = /^(?!.*(.).*\1)[imsu]*$/;

const args = strictObject(
  {
    prefix: prefixArg,
    pattern: z.string({ error: 'must be a regular expression (a string)' }),
    flags: z.string().regex(FLAGS, 'must be distinct flags among i, m, s, u').optional(),
  },
  'a grep arg',
).superRefine((a, ctx) => {
  try {
    new RegExp(a.pattern, a.flags);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      path: ['pattern'],
      message: `does not compile: ${(err as Error).message}`,
    });
  }
});

/** Lines of a byte stream, split across chunks, decoded as UTF-8. */
async function* linesOf(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body) {
    const text = rest + decoder.decode(chunk, { stream: true });
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    yield* lines;
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}

export const grep: WorkOp<{ prefix: string; pattern: string; flags?: string }> = {
  args,
  async run(ctx, { prefix, pattern, flags }) {
    const re = new RegExp(pattern, flags);
    const lines: Array<{ key: string; line: number; text: string; truncated?: true }> = [];
    let matches = 0;
    for await (const { key } of ctx.objects.list(prefix)) {
      let n = 0;
      for await (const text of linesOf(await ctx.objects.open(key))) {
        n++;
        if (!re.test(text)) continue;
        matches++;
        if (lines.length < GREP_RESULT_LIMIT)
          lines.push(
            text.length > GREP_TEXT_LIMIT
              ? { key, line: n, text: text.slice(0, GREP_TEXT_LIMIT), truncated: true }
              : { key, line: n, text },
          );
      }
    }
    return { matches, lines };
  },
};
