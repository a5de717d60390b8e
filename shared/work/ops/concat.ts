/** `concat`: the objects under a prefix, in key order, streamed into one object. */
import { strictObject } from '../../validate.ts';
import { keyArg, prefixArg, type WorkOp } from '../op.ts';

const args = strictObject({ prefix: prefixArg, output: keyArg }, 'a concat arg');

export const concat: WorkOp<{ prefix: string; output: string }> = {
  args,
  async run(ctx, { prefix, output }) {
    const keys: string[] = [];
    // The keys first: the output may sit under the prefix, and a re-run must not include it.
    for await (const { key } of ctx.objects.list(prefix)) if (key !== output) keys.push(key);
    const body = (async function* () {
      for (const key of keys) yield* await ctx.objects.open(key);
    })();
    const { size } = await ctx.objects.write(output, body);
    return { output, size, parts: keys.length };
  },
};
