/** What ops see of a vault's objects, over the store's reader, writer and index. */
import { gateRead, type Reader } from '../access/index.ts';
import { DsnError } from '../errors.ts';
import { openObject, type ReaderDeps, type WriterDeps, writeObject } from '../store/index.ts';
import type { ObjectAccess } from './op.ts';

/** An op's output could not be written (fewer than T units confirmed). */
export class WorkOutputError extends DsnError {
  readonly key: string;
  constructor(key: string, reason: string) {
    super(`output "${key}" was not written: ${reason}`);
    this.key = key;
  }
}

const LIST_PAGE = 1000;

/**
 * The objects of `vault` as an op sees them; with `reader`, an object that reader may not read
 * (unscanned or quarantined, by the scan gate) fails the op, NotScanned or Quarantined, as the
 * caller's own GET would.
 */
export function storeObjectAccess(
  deps: { reader: ReaderDeps; writer: WriterDeps; commitWaitMs: number },
  vault: string,
  reader?: Reader,
): ObjectAccess {
  return {
    async *list(prefix) {
      let cursor: string | undefined;
      do {
        const page = await deps.reader.index.list(vault, prefix, LIST_PAGE, cursor);
        for (const e of page.entries) yield { key: e.key, size: e.size };
        cursor = page.cursor;
      } while (cursor !== undefined);
    },
    async open(key) {
      const opened = await openObject(deps.reader, vault, key);
      // Checked before a byte is read: the body stream starts only when iterated.
      if (reader) gateRead(reader, opened.entry);
      return opened.body;
    },
    async write(key, body) {
      let size = 0;
      const counted = (async function* () {
        for await (const chunk of body) {
          size += chunk.length;
          yield chunk;
        }
      })();
      const outcome = await writeObject(deps.writer, vault, key, counted, {
        waitMs: deps.commitWaitMs,
      });
      if (outcome.state === 'failed') throw new WorkOutputError(key, outcome.reason);
      return { size };
    },
  };
}
