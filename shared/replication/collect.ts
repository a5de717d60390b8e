/**
 * Reads `length` bytes of a stream into one buffer: a part, or an object no larger, never a
 * whole large object. Aborted by `signal`, it stops at the next chunk and closes the stream (a
 * source read left by a stop does not go on loading the emulators or the network).
 */
export async function collect(
  body: AsyncIterable<Uint8Array>,
  length: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for await (const chunk of body) {
    signal?.throwIfAborted();
    if (at + chunk.length > length) throw new Error(`the source sent more than ${length} bytes`);
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== length) throw new Error(`the source sent ${at} bytes of ${length}`);
  return out;
}
