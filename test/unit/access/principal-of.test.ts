import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { principalOf } from '../../../functions/http.ts';
import { UnauthenticatedError } from '../../../shared/errors.ts';

const unauthorized = { routeKey: 'GET /vaults', requestContext: {} } as APIGatewayProxyEventV2;

test('a request with no authorizer context is refused, unless authentication is off (the local root)', () => {
  const before = process.env.DSN_AUTH;
  try {
    delete process.env.DSN_AUTH;
    assert.throws(
      () => principalOf(unauthorized),
      (err) => err instanceof UnauthenticatedError && /no authorizer context/.test(err.message),
    );
    process.env.DSN_AUTH = 'off';
    assert.equal(principalOf(unauthorized).rootKeyId, 'local-root');
  } finally {
    if (before === undefined) delete process.env.DSN_AUTH;
    else process.env.DSN_AUTH = before;
  }
});
