/**
 * `decompress`: the reverse of `compress`, with a cap on the expanded size, so a small bomb
 * cannot fill the vault: past it the item fails with the cap in its error.
 */
import { z } from 'zod';
import { DsnError } from '../../errors.ts';
import { integer, strictObject } from '../../validate.ts';
import { keyArg, type WorkOp } from '../op.ts';
import { type CompressionCodec, codecArg, decompressor, through } from './codec-arg.ts';

/** 1 GiB unless the item's `maxSize` says less (or more, up to 64 GiB). */
export const DEFAULT_MAX_EXPANDED = 1024 ** 3;

/** A decompressed object grew past its cap. */
export class ExpansionCapError extends DsnError {
  readonly cap: number;
  constructor(key: string, cap: number) {
    super(`decompressing "${key}" expands past ${cap} bytes (maxSize); stopped`);
    this.cap = cap;
  }
}

const args = strictObject(
  {
    key: keyArg,
    output: keyArg,
    codec: codecArg,
    maxSize: z.optional(integer(1, 64 * 1024 ** 3)),
  },
  'a decompress arg',
);

export const decompress: WorkOp<{
  key: string;
  output: string;
  codec: CompressionCodec;
  maxSize?: number;
}> = {
  args,
  async run(ctx, { key, output, codec, maxSize = DEFAULT_MAX_EXPANDED }) {
    const counts = { input: 0, output: 0 };
    const body = through(
      await ctx.objects.open(key),
      decompressor(codec),
      counts,
      maxSize,
      () => new ExpansionCapError(key, maxSize),
    );
    await ctx.objects.write(output, body);
    return { output, size: counts.output, inputSize: counts.input };
  },
};
