/**
 * `GET /openapi.json` on the local cloud: signed like every route, a valid OpenAPI 3.1
 * document naming every route the local cloud serves, and answers of the API that match it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { PROJECT_ROOT, startTestCloud, tempDir } from '../helpers/local-cloud.ts';
import { checkResponse } from '../helpers/openapi-responses.ts';
import { unsignedFetch } from '../helpers/signing.ts';

describe('GET /openapi.json', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cloud: LocalCloud;
  /** A signed call whose answer is checked against the document whatever the environment. */
  const api = async (path: string, init?: RequestInit) => {
    const url = new URL(`${cloud.endpoints.api}${path}`);
    const response = await fetch(url, init);
    await checkResponse(init?.method ?? 'GET', url, response.clone());
    return response;
  };

  before(async () => {
    dir = await tempDir('dsn-openapi');
    cloud = await startTestCloud(PROJECT_ROOT, dir.path, 'test');
  });

  after(async () => {
    await cloud?.stop();
    await dir?.remove();
  });

  test('is a valid OpenAPI 3.1 document naming every route the local cloud serves', async () => {
    // Act
    const response = await api('/openapi.json');
    const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
    // Assess
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await new Validator().validate(structuredClone(document)), { valid: true });
    // The api function's routes, and the console function's (its files, served unsigned).
    const served = cloud.service.functions
      .filter((f) => f.key === 'api' || f.key === 'console')
      .flatMap((f) => f.events)
      .flatMap((e) =>
        e.type === 'httpApi' ? [`${e.method} ${e.path.replace(/\{(key|path)\+\}/, '{$1}')}`] : [],
      );
    const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    assert.deepEqual(documented.sort(), served.sort());
  });

  test('is refused unsigned, like every route', async () => {
    // Act
    const response = await unsignedFetch(`${cloud.endpoints.api}/openapi.json`);
    // Assess
    assert.equal(response.status, 401);
    assert.equal(
      ((await response.json()) as { error: { code: string } }).error.code,
      'MissingAuthentication',
    );
  });

  test('answers of the API match their schemas, errors included', async () => {
    // Act: each call's answer is checked by `api`; a mismatch throws.
    const vault = await api('/vaults', {
      method: 'POST',
      body: JSON.stringify({
        name: 'docs',
        width: 6,
        readThreshold: 4,
        writeThreshold: 5,
        segmentSize: 65536,
      }),
    });
    const put = await api('/vaults/docs/objects/a/b.txt', { method: 'PUT', body: 'hello' });
    const listed = await api('/vaults/docs/objects?delimiter=/');
    const missing = await api('/vaults/docs/objects/nothing-here');
    const bad = await api('/vaults/docs/objects?colour=red');
    await api('/vaults');
    await api('/health');
    // Assess
    assert.deepEqual(
      [vault.status, put.status, listed.status, missing.status, bad.status],
      [201, 201, 200, 404, 400],
    );
    assert.deepEqual(((await listed.json()) as { commonPrefixes: string[] }).commonPrefixes, [
      'a/',
    ]);
  });

  test('a body that breaks its schema is caught', async () => {
    // Prepare: a listing answer without its cursor.
    const url = new URL(`${cloud.endpoints.api}/vaults/docs/objects`);
    const wrong = new Response(JSON.stringify({ objects: [], commonPrefixes: [] }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
    // Act, Assess
    await assert.rejects(checkResponse('GET', url, wrong), /cursor/);
  });
});
