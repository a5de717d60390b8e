import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { DsnUnreachableError, nodeSigner, Transport } from '../../../client/index.ts';
import { FINAL_CODES } from '../../../client/transport.ts';
import { WebSha256 } from '../../../client/web.ts';
import { CLIENT_TYPES, clientTypes } from '../../../infra/build-client-types.ts';
import { NodeSha256 } from '../../../shared/access/signer.ts';
import { signatureHeadersWith } from '../../../shared/access/sigv4.ts';
import { HTTP_STATUS } from '../../../shared/errors.ts';

/** A fetch that answers from a script, one entry per call, and keeps what it was sent. */
function scripted(answers: Array<Response | Error>) {
  const sent: Array<{ method: string; url: string; body: string; authorization: string | null }> =
    [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    sent.push({
      method: request.method,
      url: request.url,
      body: request.body ? await request.text() : '',
      authorization: request.headers.get('authorization'),
    });
    const next = answers.shift();
    if (!next) throw new Error('the script ran out of answers');
    if (next instanceof Error) throw next;
    return next;
  };
  return { fetch: fetch as typeof globalThis.fetch, sent };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

function transport(answers: Array<Response | Error>, attempts = 4) {
  const script = scripted(answers);
  const waits: number[] = [];
  const t = new Transport({
    endpoint: 'http://127.0.0.1:9/',
    signer: nodeSigner({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
    retry: { attempts, baseDelayMs: 100, maxDelayMs: 5_000 },
    fetch: script.fetch,
    sleep: async (ms) => {
      waits.push(ms);
    },
    random: () => 0.5,
  });
  return { t, sent: script.sent, waits };
}

test('a throttled answer (gateway 503, Lambda 429) is retried with growing back-off, each attempt signed and with the same body', async () => {
  // Prepare
  const { t, sent, waits } = transport([
    json(503, { message: 'Service Unavailable' }),
    json(429, { message: 'Too Many Requests' }),
    json(201, { name: 'photos' }),
  ]);

  // Act
  const res = await t.request('PUT', '/vaults', { body: '{"name":"photos"}' });

  // Assess
  assert.equal(res.status, 201);
  assert.equal(sent.length, 3);
  assert.deepEqual(
    sent.map((s) => s.body),
    ['{"name":"photos"}', '{"name":"photos"}', '{"name":"photos"}'],
  );
  assert.ok(
    sent.every((s) => s.authorization?.startsWith('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/')),
  );
  assert.equal(sent[0]?.url, 'http://127.0.0.1:9/vaults');
  assert.deepEqual(waits, [50, 100], 'full jitter (random 0.5) under ceilings of 100 and 200 ms');
});

test("a POST is sent again after a 429 (refused before it ran), never after the gateway's 503 (it may have run)", async () => {
  // Prepare
  const gateway = transport([json(503, { message: 'Service Unavailable' }), json(201, {})]);
  const throttled = transport([json(429, { message: 'Too Many Requests' }), json(201, {})]);

  // Act
  const once = await gateway.t.request('POST', '/vaults/v/work', { body: '{"op":"digest"}' });
  const again = await throttled.t.request('POST', '/vaults/v/work', { body: '{"op":"digest"}' });

  // Assess
  assert.deepEqual([once.status, gateway.sent.length], [503, 1]);
  assert.deepEqual([again.status, throttled.sent.length], [201, 2]);
});

test("an abort ends the retries at once with the signal's reason, during a wait or a request", async () => {
  // Prepare: a wait that never ends by itself, and a fetch that fails as an aborted one does.
  const control = new AbortController();
  const waiting = new Transport({
    endpoint: 'http://127.0.0.1:9/',
    fetch: (async () => json(503, { message: 'Service Unavailable' })) as typeof fetch,
    sleep: () => {
      queueMicrotask(() => control.abort());
      return new Promise(() => {});
    },
  });
  const stopped = new AbortController();
  stopped.abort();
  const inFlight = new Transport({
    endpoint: 'http://127.0.0.1:9/',
    fetch: (async () => {
      throw new DOMException('This operation was aborted', 'AbortError');
    }) as typeof fetch,
  });

  // Act and assess
  await assert.rejects(
    waiting.request('GET', '/vaults', { signal: control.signal }),
    (err: Error) => err.name === 'AbortError',
  );
  await assert.rejects(
    inFlight.request('GET', '/vaults', { signal: stopped.signal }),
    (err: Error) => err.name === 'AbortError' && !(err instanceof DsnUnreachableError),
  );
});

test("the API's own 429 and 503 about the data are final: the same request would get the same answer", async () => {
  for (const code of ['WriteThresholdNotMet', 'SegmentLost', 'TooManyOpenUploads']) {
    // Prepare
    const { t, sent } = transport([json(503, { error: { code, message: 'no' } })]);

    // Act
    const res = await t.request('PUT', '/vaults/v/objects/k', { body: 'x' });

    // Assess
    assert.equal(res.status, 503, code);
    assert.equal(sent.length, 1, code);
  }
});

test("the codes taken as final are the API's own 429 and 503 codes, as the API spells them", () => {
  // Each class's code as its answers carry it (a getter of the name, or an override).
  const codeOf = (type: (typeof HTTP_STATUS)[number][0]) => {
    const probe = Object.create(type.prototype) as { code: string };
    Object.defineProperty(probe, 'name', { value: type.name });
    return probe.code;
  };
  const api = HTTP_STATUS.filter(([, status]) => status === 429 || status === 503).map(([type]) =>
    codeOf(type),
  );
  assert.deepEqual([...FINAL_CODES].sort(), api.sort());
});

test('a Retry-After within the back-off ceiling is waited out; a longer one ends the retries', async () => {
  // Prepare
  const short = transport([
    json(429, { message: 'slow down' }, { 'retry-after': '2' }),
    json(200, {}),
  ]);
  const long = transport([json(429, { message: 'slow down' }, { 'retry-after': '60' })]);

  // Act
  const a = await short.t.request('GET', '/vaults');
  const b = await long.t.request('GET', '/vaults');

  // Assess
  assert.equal(a.status, 200);
  assert.deepEqual(short.waits, [2000]);
  assert.equal(b.status, 429);
  assert.equal(long.sent.length, 1);
});

test('a network failure is retried for a GET, not for a POST, and names the endpoint once retries are spent', async () => {
  // Prepare
  const get = transport([new TypeError('fetch failed'), json(200, [])]);
  const post = transport([new TypeError('fetch failed')]);
  const down = transport([new TypeError('fetch failed'), new TypeError('fetch failed')], 2);

  // Act
  const res = await get.t.request('GET', '/vaults');
  const refused = post.t.request('POST', '/vaults/v/work', { body: '{}' });
  const gone = down.t.request('GET', '/vaults');

  // Assess
  assert.equal(res.status, 200);
  await assert.rejects(refused, DsnUnreachableError);
  assert.equal(post.sent.length, 1);
  await assert.rejects(gone, /cannot reach the dsn API at http:\/\/127\.0\.0\.1:9/);
  assert.equal(down.sent.length, 2);
});

test('a streamed body is sent once: it cannot be replayed without buffering it', async () => {
  // Prepare
  const { t, sent } = transport([json(503, { message: 'Service Unavailable' })]);
  const stream = new Blob(['part bytes']).stream();

  // Act
  const res = await t.request('PUT', '/vaults/v/uploads/u/parts/1', { body: stream });

  // Assess
  assert.equal(res.status, 503);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]?.body, 'part bytes');
});

test('client/api-types.ts is what infra/build-client-types.ts makes of the current OpenAPI document', async () => {
  assert.equal(
    await readFile(CLIENT_TYPES, 'utf8'),
    await clientTypes(),
    'the SDK types are stale: run `node infra/build-client-types.ts`',
  );
});

test('the browser signer (WebCrypto) signs exactly as the Node one (node:crypto) does', async () => {
  // Prepare
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 't' };
  const url = new URL('http://127.0.0.1:3000/vaults/photos/objects/a%20b/c.jpg?explain=1&cursor=2');
  const at = new Date('2026-12-01T12:00:00Z');

  // Act
  const node = await signatureHeadersWith(NodeSha256, url, 'GET', credentials, 'eu-west-1', at);
  const web = await signatureHeadersWith(WebSha256, url, 'GET', credentials, 'eu-west-1', at);

  // Assess
  assert.deepEqual(web, node);
  assert.match(
    String(node.authorization),
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261201\/eu-west-1\/dsn\/aws4_request/,
  );
});
