import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DsnClient, STAGED_PART, Transport } from '../../../client/index.ts';

test('a staged upload stops when its signal is aborted: no part after it, never completed', async () => {
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
  assert.deepEqual(sent, ['POST /vaults/v/uploads', 'PUT /vaults/v/uploads/up1/parts/1']);
});
