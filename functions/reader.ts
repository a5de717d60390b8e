/**
 * The reader function: streams objects above the API's payload limit through a Lambda function
 * URL in RESPONSE_STREAM mode. The API answers such a GET with 307 and a Location here that
 * carries a read grant (shared/store/read-grant.ts); this serves the granted revision, Range
 * included, segment by segment, so memory stays bounded whatever the size. Edge copies the grant
 * offers (the caller's client group's) are read first, as the API's own GET reads them.
 */

import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { scanStateOf } from '../shared/access/index.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { wireGrantedReader } from '../shared/aws/store/wire.ts';
import {
  grantedEdgeSlices,
  objectHeaders,
  openEntry,
  rangeApplies,
  redeemRead,
} from '../shared/store/index.ts';
import { toErrorResult } from './http.ts';

/** What the Lambda Node.js runtime provides to response-streaming handlers. */
interface StreamingRuntime {
  streamifyResponse(
    handler: (event: APIGatewayProxyEventV2, stream: Writable) => Promise<void>,
  ): unknown;
  HttpResponseStream: {
    from(
      stream: Writable,
      prelude: { statusCode: number; headers: Record<string, string> },
    ): Writable;
  };
}
declare const awslambda: StreamingRuntime;

const rt = runtime('store');
const { reader, grants } = wireGrantedReader(rt);

export const handler = awslambda.streamifyResponse(async (event, stream) => {
  let started = false;
  try {
    const grant = await redeemRead(grants, event.rawPath, event.queryStringParameters?.grant);
    const { entry } = grant;
    const edge = grant.edge ? grantedEdgeSlices(grant.edge, reader.slices) : undefined;
    // As the API's GET: a Range under an If-Range that no longer holds gives the whole object.
    const range = rangeApplies(event.headers['if-range'], entry) ? event.headers.range : undefined;
    const opened = openEntry(reader, entry, range, edge);
    const { start, end } = opened.range;
    const headers: Record<string, string> = {
      ...objectHeaders(entry),
      'x-dsn-scan-state': scanStateOf(entry),
      'content-length': String(end - start),
    };
    if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${entry.size}`;
    // The first part is read before the status goes out: a read that cannot begin (its first
    // segment short of k good slices) answers its error, 503, not a 200 with nothing after it.
    const parts = opened.body[Symbol.asyncIterator]();
    const first = await parts.next();
    const out = awslambda.HttpResponseStream.from(stream, {
      statusCode: range ? 206 : 200,
      headers,
    });
    started = true;
    const body = async function* () {
      try {
        if (first.done) return;
        yield first.value;
        for (let step = await parts.next(); !step.done; step = await parts.next()) yield step.value;
      } finally {
        // A client gone mid-read stops the read of the rest.
        await parts.return?.();
      }
    };
    // pipeline waits for the client to take each part: one segment ahead at most is held.
    await pipeline(body(), out);
  } catch (err) {
    // Once bytes went out the status is said: the body ends short of its content-length.
    if (started) {
      rt.log.error('read cut short', err, { path: event.rawPath });
      return;
    }
    const result = toErrorResult(err, rt.log);
    const out = awslambda.HttpResponseStream.from(stream, {
      statusCode: result.statusCode ?? 500,
      headers: (result.headers ?? {}) as Record<string, string>,
    });
    out.end(result.body);
  }
});
