/** The compression codecs `compress` and `decompress` take, as node:zlib streams. */
import { Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { z } from 'zod';

export const codecArg = z.enum(['gzip', 'zstd']);
export type CompressionCodec = z.output<typeof codecArg>;

export function compressor(codec: CompressionCodec): Transform {
  return codec === 'gzip' ? zlib.createGzip() : zlib.createZstdCompress();
}

export function decompressor(codec: CompressionCodec): Transform {
  return codec === 'gzip' ? zlib.createGunzip() : zlib.createZstdDecompress();
}

/**
 * `source` through `transform`, counting the bytes on both sides. Past `cap` output bytes the
 * stream stops with `onCap()`'s error, before the rest is inflated.
 */
export async function* through(
  source: AsyncIterable<Uint8Array>,
  transform: Transform,
  counts: { input: number; output: number },
  cap = Number.POSITIVE_INFINITY,
  onCap: () => Error = () => new Error('output too large'),
): AsyncGenerator<Uint8Array> {
  const counted = Readable.from(
    (async function* () {
      for await (const chunk of source) {
        counts.input += chunk.length;
        yield chunk;
      }
    })(),
  );
  counted.on('error', (err) => transform.destroy(err));
  const out = counted.pipe(transform);
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) {
      counts.output += chunk.length;
      if (counts.output > cap) throw onCap();
      yield chunk;
    }
  } finally {
    counted.destroy();
    transform.destroy();
  }
}
