/**
 * The source version a copy task was planned from, and the error of a read that finds another.
 * A copy reads its source by ranges, in one piece or part by part, across retries, restarts and
 * migrations: each read must be of the object the task planned, or the destination would get
 * the head of a newer, longer object, or parts of two versions joined, and report it done.
 */
import { DsnError } from '../errors.ts';

/** What a task knows of the source it copies: its revision on a vault, else size and time. */
export interface SourceVersion {
  size: number;
  /** Epoch ms: committed (vault) or last modified (bucket; S3 keeps whole seconds). */
  modifiedAt: number;
  /** A vault's revision, when the plan knew it: it alone names the version. */
  revision?: string;
}

/** The source of a copy is no longer the version its task was planned from. */
export class SourceChangedError extends DsnError {
  readonly key: string;
  constructor(key: string, expected: SourceVersion, found: string) {
    super(
      `the source ${key} changed since the copy was planned (planned ${expected.revision ? `revision ${expected.revision}` : `${expected.size} bytes modified at ${new Date(expected.modifiedAt).toISOString()}`}, found ${found})`,
    );
    this.key = key;
  }
}

/** Whether two modification times are the same second (S3's Last-Modified has no more). */
export function sameSecond(a: number, b: number): boolean {
  return Math.floor(a / 1000) === Math.floor(b / 1000);
}
