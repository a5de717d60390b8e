import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  decodePathSegment,
  type HttpApiHandle,
  startHttpApi,
} from '../../../infra/local/http-api.ts';

test('a path segment decodes, and a malformed escape is undefined rather than a throw', () => {
  assert.equal(decodePathSegment('a%2Fb%20c%C3%A9'), 'a/b cé');
  for (const bad of ['%', 'a%', '%zz', '%E0%A4%A', '%ED%A0%80', '%C3']) {
    assert.equal(decodePathSegment(bad), undefined, bad);
  }
});

describe('the gateway in front of a function', () => {
  let gateway: HttpApiHandle;
  const events: Array<{ pathParameters?: Record<string, string>; rawPath?: string }> = [];

  before(async () => {
    gateway = await startHttpApi({
      port: 0,
      portVariable: 'TEST_PORT',
      accountId: '000000000000',
      routes: [
        {
          functionName: 'api',
          event: { type: 'httpApi', method: 'GET', path: '/vaults/{vault}/objects/{key+}' },
        },
      ],
      invoke: async (_name, event) => {
        events.push(event as { pathParameters?: Record<string, string>; rawPath?: string });
        return { statusCode: 200, body: 'ok' };
      },
    });
  });

  after(() => gateway?.stop());

  test('answers a malformed percent escape with its own 400, and never calls the function', async () => {
    for (const bad of ['%', '%E0%A4%A', '%ED%A0%80', '%zz']) {
      for (const path of [`/vaults/v/objects/a${bad}`, `/vaults/${bad}/objects/k`, `/x${bad}`]) {
        const res = await fetch(`${gateway.url}${path}`);
        assert.equal(res.status, 400, path);
        assert.deepEqual(await res.json(), { message: 'Bad Request' });
      }
    }
    assert.equal(events.length, 0);
  });

  test('passes path parameters decoded', async () => {
    const res = await fetch(`${gateway.url}/vaults/v/objects/dir/a%2Fb%20caf%C3%A9`);
    assert.equal(res.status, 200);
    assert.deepEqual(events.at(-1)?.pathParameters, { vault: 'v', key: 'dir/a/b café' });
    // As API Gateway's HTTP API does, rawPath comes decoded too (function URLs keep it as sent).
    assert.equal(events.at(-1)?.rawPath, '/vaults/v/objects/dir/a/b café');
  });
});
