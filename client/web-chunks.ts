/** A Blob's (a File's) bytes as the uplink takes them, read as they come, never whole. */
export async function* chunksOf(blob: Blob): AsyncGenerator<Uint8Array> {
  const reader = blob.stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * A Blob's (a File's) positional read, as the uplink's `readAt` takes it: the bytes at `offset`
 * into `into`, as many as fit, fewer at the end. A resume reads its done segments so, to check
 * them before anything is placed.
 */
export function readAtOf(blob: Blob): (offset: number, into: Uint8Array) => Promise<number> {
  return async (offset, into) => {
    const bytes = new Uint8Array(await blob.slice(offset, offset + into.length).arrayBuffer());
    into.set(bytes);
    return bytes.length;
  };
}
