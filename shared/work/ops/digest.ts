/** `digest`: SHA-256 and size of every object under a prefix, optionally as JSON lines. */
import { createHash } from 'node:crypto';
import { strictObject } from '../../validate.ts';
import { keyArg, prefixArg, type WorkOp } from '../op.ts';

/** Objects the result lists at most; `output` gets all of them. */
export const DIGEST_RESULT_LIMIT = 1000;

const args = strictObject({ prefix: prefixArg, output: keyArg.optional() }, 'a digest arg');

export const digest: WorkOp<{ prefix: string; output?: string }> = {
  args,
  async run(ctx, { prefix, output }) {
    const objects: Array<{ key: string; size: number; sha256: string }> = [];
    let count = 0;
    async function* lines(): AsyncGenerator<Uint8Array> {
      for await (const { key } of ctx.objects.list(prefix)) {
        // A re-run must not digest its own earlier output.
        if (key === output) continue;
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of await ctx.objects.open(key)) {
          hash.update(chunk);
          size += chunk.length;
        }
        const line = { key, size, sha256: hash.digest('hex') };
        count++;
        if (objects.length < DIGEST_RESULT_LIMIT) objects.push(line);
        yield Buffer.from(`${JSON.stringify(line)}\n`);
      }
    }
    if (output === undefined) for await (const _ of lines());
    else await ctx.objects.write(output, lines());
    return { count, objects };
  },
};
