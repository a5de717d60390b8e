/** `compress`: one object streamed through gzip or zstd into another. */
import { strictObject } from '../../validate.ts';
import { keyArg, type WorkOp } from '../op.ts';
import { type CompressionCodec, codecArg, compressor, through } from './codec-arg.ts';

const args = strictObject({ key: keyArg, output: keyArg, codec: codecArg }, 'a compress arg');

export const compress: WorkOp<{ key: string; output: string; codec: CompressionCodec }> = {
  args,
  async run(ctx, { key, output, codec }) {
    const counts = { input: 0, output: 0 };
    const body = through(await ctx.objects.open(key), compressor(codec), counts);
    await ctx.objects.write(output, body);
    return { output, size: counts.output, inputSize: counts.input };
  },
};
