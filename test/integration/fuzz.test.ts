/**
 * Property-based fuzzing of the HTTP API on the local cloud: every route of the service's
 * `httpApi` events is driven with generated bad input (odd path segments and escapes, huge and
 * odd query parameters and headers, bodies of random JSON, deep nesting, wrong types,
 * `{"toString":null}` objects and bytes that are not JSON), and must answer below 500 every
 * time; the cloud must still be healthy afterwards.
 *
 * The seed is fixed so a run repeats; `DSN_FUZZ_SEED` and `DSN_FUZZ_RUNS` (runs per route) pick
 * others, to fuzz harder by hand. A failure prints the seed and the shrunk request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import type { HttpApiEventSource } from '../../infra/local/service.ts';
import { eventually, PROJECT_ROOT, startTestCloud, tempDir } from '../helpers/local-cloud.ts';

const SEED = Number(process.env.DSN_FUZZ_SEED ?? 20_261_201);
const RUNS = Number(process.env.DSN_FUZZ_RUNS ?? 100);

/** What one generated request is made of. */
interface FuzzRequest {
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** Escapes that are malformed, or decode to something a parameter must refuse. */
const ESCAPES = [
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%zz',
  '%0',
  '%00',
  '%0A',
  '%2F',
  '%2F%2F',
  '%2E',
  '%2E%2E',
  '%C0%AF',
  '%FF',
  '%EF%BB%BF',
  '%E2%80%AE',
  '%E2%81%A6',
  '%CC%81',
  '%25',
  '%20',
  '%3F',
  '%23',
];

/** Spellings a number or id parameter must refuse, or take exactly. */
const ODD_WORDS = [
  '',
  '.',
  '..',
  '0',
  '1',
  '01',
  '1e2',
  '0x1',
  '1.0',
  '-1',
  '+1',
  '10000',
  '10001',
  '9'.repeat(30),
  'NaN',
  'Infinity',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'toString',
  'u-nope',
  'caf\u00e9',
  'cafe\u0301',
  '\u202Eexe.txt',
  '\u{1F642}',
];

/** A well-formed string, percent-encoded as a client would. */
const encoded = (unit: 'binary' | 'grapheme', maxLength: number) =>
  fc.string({ unit, maxLength }).map((s) => encodeURIComponent(s.toWellFormed()));

/** One path segment: pieces of odd words, escapes, encoded text and long runs, joined. */
const segment = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...ODD_WORDS).map((w) => encodeURIComponent(w)) },
      { weight: 3, arbitrary: fc.constantFrom(...ESCAPES) },
      { weight: 3, arbitrary: encoded('binary', 8) },
      { weight: 1, arbitrary: encoded('grapheme', 8) },
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((pieces) => pieces.join(''));

/**
 * A value past the limits behind a parameter: 1024 bytes of key, 2048 of a DynamoDB partition
 * key, 1024 of a sort key. Percent-encoded ones stay under Node's 16 KiB of request head.
 */
const oversized = fc
  .tuple(fc.constantFrom(1025, 2049, 2100), fc.constantFrom('x', '9', '%41', '%C3%A9', '-'))
  .map(([n, c]) => c.repeat(n));

/** A greedy `{key+}`: segments, some empty, or one odd segment. */
const keyPath = fc.oneof(
  fc
    .array(fc.oneof(segment, fc.constant('')), { minLength: 1, maxLength: 5 })
    .map((s) => s.join('/')),
  segment,
  oversized,
);

/** Query parameter values the listing and the explain switch read, with junk names too. */
const queryValue = fc.oneof(
  fc.constantFrom(...ODD_WORDS).map((w) => encodeURIComponent(w)),
  fc.constantFrom(...ESCAPES),
  encoded('binary', 20),
  oversized,
);
/**
 * A cursor as the adapters spell them (base64url of the JSON of the last key listed), holding a
 * key past 1024 bytes, a value of another type, or deep nesting.
 */
const cursorValue = fc
  .oneof(
    fc.constantFrom(1025, 2000, 3000).map((n) => JSON.stringify('k'.repeat(n))),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.constantFrom(100, 3000).map((n) => '['.repeat(n) + ']'.repeat(n)),
  )
  .map((json) => Buffer.from(json).toString('base64url'));
const query = fc
  .array(
    fc.oneof(
      { weight: 2, arbitrary: fc.tuple(fc.constant('cursor'), fc.oneof(cursorValue, queryValue)) },
      { weight: 3, arbitrary: fc.tuple(fc.constantFrom('limit', 'prefix', 'explain'), queryValue) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('junk', '%', '', 'cursor%00'), queryValue) },
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

/** An object whose own `toString`/`valueOf` are not functions: `String(x)` on it throws. */
const untouchable = fc.constantFrom(
  { toString: null },
  { toString: null, valueOf: null },
  { toString: {}, valueOf: [] },
  { __proto__: null },
);
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  untouchable,
  fc.integer({ min: 20, max: 200 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n))),
  fc.constantFrom(1e308, -0, 2 ** 53 + 1, 4.5, '', '1', 'x'.repeat(2000), [], {}),
);
const FIELDS = [
  'key',
  'name',
  'width',
  'readThreshold',
  'writeThreshold',
  'segmentSize',
  'units',
  'restart',
  'stepSegments',
  'reason',
  'uploadId',
  'toString',
  'constructor',
];
/** A body object with the fields the routes know (and others), holding odd values. */
const oddObject = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string()), oddValue, {
  maxKeys: 4,
});

const utf8 = (text: string) => new Uint8Array(Buffer.from(text));
const body = fc.option(
  fc.oneof(
    fc.jsonValue().map((v) => utf8(JSON.stringify(v))),
    oddObject.map((o) => utf8(JSON.stringify(o))),
    fc
      .tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom('[', '{"a":', '{"key":['))
      .map(([depth, open]) => {
        const close = open === '[' ? ']' : open === '{"a":' ? '}' : ']}';
        const inner = open === '{"a":' ? '1' : '';
        return utf8(open.repeat(depth) + inner + close.repeat(depth));
      }),
    fc.uint8Array({ maxLength: 64 }),
    fc.string({ unit: 'binary', maxLength: 64 }).map(utf8),
    fc.constantFrom(utf8('{'), utf8('{"key":"a",}'), utf8('\uFEFF{}'), utf8('null'), utf8('')),
  ),
  { nil: undefined },
);

const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'application/octet-stream',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'application/vnd.x+json',
    ),
    range: fc.oneof(
      fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=5-', 'bytes=1-0', 'bytes=0-1,2-3', 'bytes='),
      fc.constantFrom('bytes=99999999999999999999-', 'bytes=-0', 'items=0-1', 'bytes=1e2-'),
      fc.string({ unit: fc.constantFrom(...'bytes=-0123456789, x'), maxLength: 30 }),
    ),
  },
  { requiredKeys: [] },
);

describe('fuzzing every route with bad input', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  const api = (path: string, init?: RequestInit) => fetch(`${cloud.endpoints.api}${path}`, init);
  const known = { uploadId: '', revision: '' };

  /** The API's routes, read from the service definition the local cloud runs. */
  const routes = (): HttpApiEventSource[] =>
    cloud.service.functions.flatMap((f) =>
      f.events.filter((e): e is HttpApiEventSource => e.type === 'httpApi'),
    );

  /** Requests for `route`: its path parameters filled with bad values, and sometimes good. */
  function requestsFor(route: HttpApiEventSource): fc.Arbitrary<FuzzRequest> {
    const param = (name: string): fc.Arbitrary<string> => {
      if (name === 'key+') return fc.oneof(keyPath, fc.constant('fuzz/known.bin'));
      const good = {
        vault: 'default',
        upload: known.uploadId,
        revision: known.revision,
        part: '1',
      }[name];
      // The good value often, so that parsing after it (the next parameter, the body) is reached.
      if (good === undefined) return fc.oneof(segment, oversized);
      return fc.oneof(
        { weight: 3, arbitrary: fc.constant(good) },
        { weight: 2, arbitrary: segment },
        { weight: 1, arbitrary: oversized },
      );
    };
    const pieces = route.path.split('/').map((piece) => {
      const name = /^\{(.+)\}$/.exec(piece)?.[1];
      return name === undefined ? fc.constant(piece) : param(name);
    });
    return fc.record({
      path: fc.tuple(...pieces).map((p) => p.join('/')),
      query,
      headers,
      body: route.method === 'POST' || route.method === 'PUT' ? body : fc.constant(undefined),
    });
  }

  before(async () => {
    console.log(`fuzz seed ${SEED}, ${RUNS} runs per route (DSN_FUZZ_SEED, DSN_FUZZ_RUNS)`);
    dir = await tempDir('dsn-fuzz');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
    // Something real to aim at, so parsing past the lookup is fuzzed too.
    const put = await api('/vaults/default/objects/fuzz/known.bin', { method: 'PUT', body: 'x' });
    assert.equal(put.status, 201);
    known.revision = ((await put.json()) as { revision: string }).revision;
    const upload = await api('/vaults/default/uploads', {
      method: 'POST',
      body: JSON.stringify({ key: 'fuzz/upload.bin' }),
    });
    known.uploadId = ((await upload.json()) as { uploadId: string }).uploadId;
  });

  after(async () => {
    // A fuzzed request may have started a rebuild or a dispersal; the local cloud cannot stop
    // while one is running (its SQS pollers wait on an invocation the invoker has ended).
    if (cloud) {
      await eventually(async () => {
        const rebuild = (await (await api('/vaults/default/rebuild')).json()) as { state?: string };
        const upload = (await (await api(`/vaults/default/uploads/${known.uploadId}`)).json()) as {
          state?: string;
        };
        return rebuild.state !== 'running' && upload.state !== 'dispersing' ? true : undefined;
      }, 'the rebuild and the dispersal a fuzzed request may have started');
    }
    await cloud?.stop();
    await dir?.remove();
  });

  test('the service declares the routes fuzzed here', () => {
    assert.ok(
      routes().length >= 16,
      routes()
        .map((r) => `${r.method} ${r.path}`)
        .join('\n'),
    );
  });

  test('no route answers 500 or above to any of it', async (t) => {
    for (const route of routes()) {
      const routeKey = `${route.method} ${route.path}`;
      await t.test(routeKey, async () => {
        await fc.assert(
          fc.asyncProperty(requestsFor(route), async (req) => {
            const url = `${cloud.endpoints.api}${req.path}${req.query ? `?${req.query}` : ''}`;
            const res = await fetch(url, {
              method: route.method,
              headers: req.headers,
              body: req.body as BodyInit | undefined,
            });
            const text = await res.text();
            const seen = `${route.method} ${url.slice(0, 300)} -> ${res.status} ${text.slice(0, 300)}`;
            assert.ok(res.status < 500, seen);
            // A refusal says why: the function's {"error":{"code","message"}}, or the gateway's
            // own {"message"}. HEAD answers carry no body.
            if (res.status >= 400 && text !== '') {
              const refusal = JSON.parse(text) as {
                message?: unknown;
                error?: Record<string, unknown>;
              };
              const explained =
                typeof refusal.message === 'string' ||
                (typeof refusal.error?.code === 'string' &&
                  typeof refusal.error.message === 'string');
              assert.ok(explained, seen);
            }
          }),
          { seed: SEED, numRuns: RUNS },
        );
      });
    }
  });

  test('the cloud is still healthy afterwards', async () => {
    assert.equal((await api('/health')).status, 200);
  });
});
