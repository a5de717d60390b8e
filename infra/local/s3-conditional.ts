/**
 * S3 conditional writes for the local cloud. S3 refuses a `PutObject` carrying
 * `If-None-Match: *` with 412 PreconditionFailed when the key already holds an object, and
 * answers 409 ConditionalRequestConflict to one that races another conditional write of the
 * same key. fauxqs 2.4 reads `If-None-Match` on GET and rename only and would overwrite, so this
 * layer, put in front of its request handling, decides those two answers itself and lets every
 * other request through untouched. Storage units use it to store a slice once whatever the
 * redeliveries (see shared/unit.ts).
 *
 * Existence is asked of fauxqs's own object store, the one its S3 routes serve, so the answer
 * is the emulator's state, not a guess from its files. It is asked when the request arrives;
 * S3 decides when the upload completes. The difference shows only if a PUT without the condition
 * lands on the key during a create-only upload (the create then overwrites where S3 would
 * answer 412): nothing here writes a slice both ways at once with different bytes.
 */
import type { IncomingMessage, Server } from 'node:http';
import { interpose } from './interpose.ts';
import { s3Target, sendS3Error } from './s3-http.ts';

/** What of fauxqs's S3Store this needs: `headObject` throws when the key holds nothing. */
export interface ObjectLookup {
  headObject(bucket: string, key: string): unknown;
}

/** A single-object PUT asking to create only; undefined for anything else. */
function createOnly(req: IncomingMessage): { bucket: string; key: string } | undefined {
  if (req.method !== 'PUT' || req.headers['if-none-match'] !== '*') return undefined;
  // Copies, renames and multipart parts are other operations with their own rules (fauxqs
  // evaluates rename's conditions itself).
  if (req.headers['x-amz-copy-source']) return undefined;
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  if (query.has('uploadId') || query.has('partNumber') || query.has('renameObject'))
    return undefined;
  const target = s3Target(req);
  return target?.key ? target : undefined;
}

function holds(store: ObjectLookup, bucket: string, key: string): boolean {
  try {
    store.headObject(bucket, key);
    return true;
  } catch {
    return false;
  }
}

/** Serves `If-None-Match: *` on PutObject for every bucket of `server` (fauxqs's). */
export function installConditionalWrites(server: Server, store: ObjectLookup): void {
  // Keys with a create-only PUT under way: the object does not exist until its body is in.
  const creating = new Set<string>();
  interpose(server, (req, res, pass) => {
    const target = createOnly(req);
    if (!target) return pass(req, res);
    const id = `${target.bucket}\n${target.key}`;
    if (creating.has(id)) {
      req.resume();
      return sendS3Error(
        res,
        409,
        'ConditionalRequestConflict',
        'A conflicting conditional operation is currently in progress against this resource. Try again.',
      );
    }
    if (holds(store, target.bucket, target.key)) {
      req.resume();
      return sendS3Error(
        res,
        412,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
      );
    }
    creating.add(id);
    // fauxqs stores the object before it answers, so once the answer is out the key is settled.
    res.once('close', () => creating.delete(id));
    pass(req, res);
  });
}
