/**
 * A resume's check of its source against the segments its dispersal placed before: each done
 * segment must encode to the slice checksums it was announced with, or the object would be made
 * of two sources. A source read at offsets (`readAt`, a file) has its done segments read and
 * checked before anything is placed. A stream is checked as it goes by, and the segments not
 * done that come before its last done one are held back, as bytes, until every done one is
 * checked, so that neither way places anything from a wrong source.
 */
import { builtSliceS3Crc32 } from '../shared/codec/index.ts';
import { ResumeHoldError, ResumeMismatchError } from './dispersal-state.ts';
import type { SegmentEncoder } from './segment-encoder.ts';

/** The most bytes a streamed resume holds back, unless told otherwise. */
export const RESUME_HOLD_BYTES = 256 * 1024 * 1024;

/** The S3 CRC-32 of each slice, as a dispersal announces them. */
export function crcsOf(slices: Uint8Array[]): string[] {
  return slices.map((s) => builtSliceS3Crc32(s));
}

/** A segment held back, by its index, with a copy of its bytes. */
export interface HeldSegment {
  segment: number;
  bytes: Uint8Array;
}

export class ResumeCheck {
  private readonly revision: string;
  /** The done segments' announced slice checksums, by segment. */
  private readonly done: Map<number, string[]>;
  private readonly holdLimit: number;
  /** The last done segment a stream must reach before anything before it is placed (-1: none). */
  private readonly lastDone: number = -1;
  private held: HeldSegment[] = [];
  private heldBytes = 0;

  /** `streamed`: the source is read once, in order, with no `readAt`. */
  constructor(
    revision: string,
    done: Map<number, string[]>,
    streamed: boolean,
    holdLimit = RESUME_HOLD_BYTES,
  ) {
    this.revision = revision;
    this.done = done;
    this.holdLimit = holdLimit;
    if (streamed) for (const index of done.keys()) this.lastDone = Math.max(this.lastDone, index);
  }

  /**
   * Reads each done segment through `readAt` and encodes it again, before anything is placed.
   * @throws ResumeMismatchError at the first that differs
   */
  async checkAt(
    encoder: SegmentEncoder,
    segmentSize: number,
    readAt: (offset: number, into: Uint8Array) => Promise<number>,
  ): Promise<void> {
    for (const index of [...this.done.keys()].sort((a, b) => a - b)) {
      const length = await readAt(index * segmentSize, encoder.segment);
      const { slices, buffers } = await encoder.encodeAs(index, length);
      const crcs = crcsOf(slices);
      encoder.release(buffers);
      this.compare(index, crcs);
    }
  }

  /** Whether the stream's next segment, `index`, waits: not done, before the last done one. */
  holds(index: number): boolean {
    return index < this.lastDone && !this.done.has(index);
  }

  /**
   * Holds the next segment, its `length` bytes at the start of the encoder's segment, counted
   * in the object's size and hash. @throws ResumeHoldError past the hold's limit
   */
  hold(encoder: SegmentEncoder, length: number): void {
    this.heldBytes += length;
    if (this.heldBytes > this.holdLimit) throw new ResumeHoldError(this.revision, this.holdLimit);
    // A copy: the segment buffer (a Buffer, whose slice is a view) takes the next one.
    const bytes = new Uint8Array(encoder.segment.subarray(0, length));
    this.held.push({ segment: encoder.count(length), bytes });
  }

  /**
   * Whether segment `index` was done before the resume; if so, its slices' checksums `crcs`
   * must be those announced. @throws ResumeMismatchError when they differ
   */
  wasDone(index: number, crcs: string[]): boolean {
    if (!this.done.has(index)) return false;
    this.compare(index, crcs);
    return true;
  }

  /** The held segments, once done segment `index` checked was the last one; none before. */
  release(index: number): HeldSegment[] {
    if (index !== this.lastDone) return [];
    const released = this.held;
    this.held = [];
    return released;
  }

  /**
   * The stream ended with `next` segments read. @throws ResumeMismatchError when that is
   * before its last done segment: not the source that placed it
   */
  ended(next: number): void {
    if (next <= this.lastDone) throw new ResumeMismatchError(this.revision, this.lastDone);
  }

  private compare(index: number, crcs: string[]): void {
    if (this.done.get(index)?.join() !== crcs.join())
      throw new ResumeMismatchError(this.revision, index);
  }
}
