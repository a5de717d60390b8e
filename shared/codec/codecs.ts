/** One codec per shape per process: a codec holds compiled tables and kernel memory. */
import { type Codec, createCodec } from './reed-solomon.ts';

const codecs = new Map<string, Codec>();

export function codecFor(dataShards: number, parityShards: number): Codec {
  const key = `${dataShards}+${parityShards}`;
  let codec = codecs.get(key);
  if (!codec) {
    codec = createCodec(dataShards, parityShards);
    codecs.set(key, codec);
  }
  return codec;
}
