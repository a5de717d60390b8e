/**
 * The local cloud's own admin routes, served on the API port ahead of the service's routes:
 *
 *   GET    /admin/faults               the faults injected now
 *   PUT    /admin/units/{unit}/fault   {"mode":"write-fail"|"read-fail"|"slow"|"corrupt","delayMs"?}
 *   DELETE /admin/units/{unit}/fault   bring the unit back
 *   POST   /admin/chaos                {"slices","vault"?,"key"?,"seed"?}: flip one byte in N slice files
 *   GET    /admin/requests             S3 requests per unit bucket since start (DELETE resets)
 *   GET    /admin/requests/{bucket}    S3 requests to any bucket, with successful PUTs per key
 *   GET    /admin/slices               slices each unit's bucket holds (the console's unit grid)
 *
 * A unit's fault applies to its bucket and to its partition of the work table (`unit/<u>`, its
 * function slices and their locks; `work-faults.ts`, dynalite only): write-fail and read-fail
 * refuse there too (a lock-read-delete counts as a read), slow delays, corrupt is S3 only.
 *
 * They exist only here: a deployment on AWS has no such routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidParameterError } from '../../shared/errors.ts';
import { parseChaos, parseFault } from '../../shared/store/fault.ts';
import { flipRandomSlices, type RevisionKeys, sliceCounts } from './chaos.ts';
import type { UnitFaults } from './unit-faults.ts';

function send(res: ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    throw new InvalidParameterError('body', 'must be valid JSON');
  }
}

/**
 * @param bucketsDir where the S3 emulator keeps bucket folders (`<dataDir>/s3/buckets`), for chaos.
 * @param keyOf the object key of a revision, so chaos says which objects it hit.
 */
export function faultRoutes(faults: UnitFaults, bucketsDir: string, keyOf: RevisionKeys) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!path.startsWith('/admin/')) return false;
    try {
      if (path === '/admin/faults' && req.method === 'GET') {
        send(res, 200, { faults: faults.list() });
        return true;
      }
      if (path === '/admin/chaos' && req.method === 'POST') {
        const request = parseChaos(await readJson(req));
        send(res, 200, await flipRandomSlices(bucketsDir, faults.units(), request, keyOf));
        return true;
      }
      if (path === '/admin/slices' && req.method === 'GET') {
        send(res, 200, { units: await sliceCounts(bucketsDir, faults.units()) });
        return true;
      }
      if (path === '/admin/requests' && req.method === 'GET') {
        send(res, 200, { units: faults.requestCounts() });
        return true;
      }
      const counted = /^\/admin\/requests\/([^/]+)$/.exec(path);
      if (counted && req.method === 'GET') {
        const bucket = decodeURIComponent(counted[1] as string);
        send(res, 200, {
          bucket,
          ...faults.bucketRequestCounts(bucket),
          putsByKey: Object.fromEntries(faults.putsByKey(bucket)),
        });
        return true;
      }
      if (path === '/admin/requests' && req.method === 'DELETE') {
        faults.resetRequestCounts();
        send(res, 204);
        return true;
      }
      const m = /^\/admin\/units\/([^/]+)\/fault$/.exec(path);
      if (!m) return false;
      const unit = Number(m[1]);
      if (!Number.isInteger(unit) || unit < 0 || unit > 255) {
        throw new InvalidParameterError('unit', 'must be an integer 0..255');
      }
      if (req.method === 'PUT') {
        const fault = parseFault(unit, await readJson(req));
        if (!faults.set(fault))
          throw new InvalidParameterError('unit', `the service declares no Unit${unit}Bucket`);
        send(res, 200, fault);
        return true;
      }
      if (req.method === 'DELETE') {
        if (!faults.clear(unit))
          throw new InvalidParameterError('unit', `the service declares no Unit${unit}Bucket`);
        send(res, 204);
        return true;
      }
      return false;
    } catch (err) {
      if (!(err instanceof InvalidParameterError)) throw err;
      send(res, 400, { error: { code: 'InvalidParameter', message: err.message } });
      return true;
    }
  };
}
