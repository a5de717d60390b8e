/**
 * A copy in parts resumes the multi-part upload its task names. The destination may no longer
 * have it: aborted (an S3 lifecycle rule, an operator), expired (a vault's staged upload lasts
 * 7 days, and a restart may come later), or ended failed (a vault's dispersal of its parts
 * failed). Resumed as it was, every attempt and every restart met the same error. The sides say
 * so with this error, and the worker begins the copy again with a new upload.
 */
export class UploadGoneError extends Error {
  override name = 'UploadGoneError';
  constructor(what: string, why: string, options?: { cause?: unknown }) {
    super(`the multi-part upload of ${what} is gone: ${why}`, options);
  }
}
