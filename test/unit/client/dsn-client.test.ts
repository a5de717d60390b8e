import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DsnApiError,
  DsnClient,
  type JsonCalls,
  objectPath,
  STAGED_PART,
  Transport,
  waitForRevision,
} from '../../../client/index.ts';

test('a staged upload stops when its signal is aborted: no part after it, aborted, never completed', async () => {
  // Prepare: an API that opens the upload and takes parts; part 1's arrival aborts the upload.
  const control = new AbortController();
  const sent: string[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const path = `${request.method} ${new URL(request.url).pathname}`;
    sent.push(path);
    if (path.endsWith('/uploads'))
      return Response.json({ uploadId: 'up1', key: 'k', state: 'open' }, { status: 201 });
    if (path.endsWith('/parts/1')) control.abort();
    return new Response(null, { status: 200 });
  };
  const dsn = new DsnClient(
    new Transport({ endpoint: 'http://127.0.0.1:9/', fetch: fetch as typeof globalThis.fetch }),
  );
  const file = new Blob([new Uint8Array(3 * STAGED_PART)]);

  // Act
  const upload = dsn.upload('v', 'k', file, { via: 'staged', parallel: 1, signal: control.signal });

  // Assess
  await assert.rejects(upload, { name: 'AbortError' });
  assert.deepEqual(sent, [
    'POST /vaults/v/uploads',
    'PUT /vaults/v/uploads/up1/parts/1',
    'DELETE /vaults/v/uploads/up1',
  ]);
});

/** A client whose revision GETs answer `states` in turn; it counts them. */
function revisions(...states: Array<Record<string, unknown>>): JsonCalls & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async json<T>(method: string, path: string) {
      asked.push(`${method} ${path}`);
      return states.shift() as T;
    },
  };
}

test('waiting for a write polls its revision until it commits, and names the units of a failed one', async () => {
  const committing = revisions({ state: 'pending' }, { state: 'committed', size: 7, sha256: 'ab' });
  assert.deepEqual(await waitForRevision(committing, 'v', 'r1', 1), {
    revision: 'r1',
    size: 7,
    sha256: 'ab',
  });
  assert.deepEqual(committing.asked, ['GET /vaults/v/revisions/r1', 'GET /vaults/v/revisions/r1']);

  const failing = revisions(
    { state: 'pending' },
    { state: 'failed', reason: '4 of 5', failedUnits: [2, 5] },
  );
  await assert.rejects(waitForRevision(failing, 'v', 'r2', 1), (err: unknown) => {
    assert.ok(err instanceof DsnApiError);
    assert.equal(err.status, 503);
    assert.equal(err.code, 'WriteThresholdNotMet');
    assert.equal(err.message, 'write r2 failed: 4 of 5; units that failed: 2, 5');
    assert.deepEqual(err.details, { revision: 'r2', failedUnits: [2, 5] });
    return true;
  });

  const stopped = revisions({ state: 'pending' }, { state: 'pending' });
  const control = new AbortController();
  const waiting = waitForRevision(stopped, 'v', 'r3', 20, control.signal);
  control.abort();
  await assert.rejects(waiting, { name: 'AbortError' });
  assert.equal(stopped.asked.length, 1, 'no poll after the abort');
});

test('a key with a "." or ".." segment is refused before any request: the URL would name another key', async () => {
  // Prepare: a transport whose every request is a failure of the test.
  const sent: string[] = [];
  const client = new DsnClient(
    new Transport({
      endpoint: 'http://127.0.0.1:9',
      fetch: async (input) => {
        sent.push(String(input instanceof Request ? input.url : input));
        return new Response('{}', { status: 200 });
      },
    }),
  );

  // Act and assess
  for (const key of ['tmp/../important.jpg', './a', 'a/..']) {
    await assert.rejects(
      () => client.deleteObject('photos', key),
      (err) =>
        err instanceof DsnApiError &&
        err.status === 400 &&
        err.code === 'InvalidParameter' &&
        /must not contain "\.{1,2}" path segments/.test(err.message),
      key,
    );
  }
  assert.deepEqual(sent, []);
  assert.equal(objectPath('photos', 'a..b/.c d'), '/vaults/photos/objects/a..b/.c%20d');
});
