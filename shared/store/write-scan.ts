/**
 * The scan a server-side writer runs on an object's bytes as the encoder pulls them. The verdict
 * goes into the revision's record with its segment count, and the commit's scan task records it
 * instead of reading the object back from k units (for an 8 MiB object, a quarter of the write's
 * CPU on the local cloud). Only the server's writers scan: a client's dispersal is never trusted
 * to say what it wrote, so its revisions are read back as before.
 */
import type { ContentScanSession, WriteScanner } from './ports.ts';
import type { WrittenScan } from './revision.ts';

export class WriteScan {
  private readonly maxBytes: number;
  private session: ContentScanSession | undefined;
  private bytes = 0;
  /** The verdict cannot change any more: later chunks are not fed. */
  private known = false;
  /** The body ended, every byte seen: only then is there a verdict. */
  private complete = false;

  private constructor(maxBytes: number, session: ContentScanSession) {
    this.maxBytes = maxBytes;
    this.session = session;
  }

  /** A scan of the next object, or undefined when the writer has no scanner. */
  static async open(scanner: WriteScanner | undefined): Promise<WriteScan | undefined> {
    return scanner ? new WriteScan(scanner.maxBytes, await scanner.open()) : undefined;
  }

  /** `body`, each chunk fed to the scan before it goes on to the encoder. */
  async *through(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      await this.feed(chunk);
      yield chunk;
    }
    this.complete = true;
  }

  private async feed(chunk: Uint8Array): Promise<void> {
    if (!this.session) return;
    this.bytes += chunk.length;
    // Over the limit the scan task skips the object without reading it: nothing to say here.
    if (this.bytes > this.maxBytes) this.abort();
    else if (!this.known) this.known = await this.session.write(chunk);
  }

  /**
   * Clean, or the signature found, once the whole body went through; undefined when the object
   * is over the limit, the body did not end, or the scanner could not judge it (skipped): the
   * scan task then decides as it always did.
   */
  async verdict(): Promise<WrittenScan | undefined> {
    const session = this.session;
    this.session = undefined;
    if (!session) return undefined;
    if (!this.complete) {
      session.abort();
      return undefined;
    }
    const v = await session.finish();
    return v.state === 'skipped' ? undefined : v;
  }

  /** Gives the scan up (the write failed: the writer calls it, whatever threw). */
  abort(): void {
    this.session?.abort();
    this.session = undefined;
  }
}
