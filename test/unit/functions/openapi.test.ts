/**
 * The OpenAPI document: a real OpenAPI 3.1 validator lints it, it covers every httpApi route of
 * serverless.yml (no more, no less), and its schemas are the ones the handlers validate with.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ROUTE_ACTIONS } from '../../../functions/routes/access.ts';
import { openApiDocument, openApiPath, routeTable } from '../../../functions/routes/openapi.ts';
import { createUploadSchema, listingQuerySchema } from '../../../shared/store/index.ts';
import { PROJECT_ROOT } from '../../helpers/paths.ts';

/** serverless.yml's httpApi routes as `METHOD /path`, each event line read one by one. */
async function serverlessRoutes(): Promise<string[]> {
  const yml = await readFile(join(PROJECT_ROOT, 'serverless.yml'), 'utf8');
  const lines = yml.split('\n').filter((l) => /^\s*- httpApi:/.test(l));
  return lines.map((line) => {
    const m = /method:\s*([A-Z]+),\s*path:\s*"([^"]+)"/.exec(line);
    assert.ok(m, `an httpApi event the test cannot read: ${line.trim()}`);
    return `${m[1]} ${m[2]}`;
  });
}

test('the document passes an OpenAPI 3.1 validator', async () => {
  // Prepare
  const validator = new Validator();
  // Act
  const result = await validator.validate(structuredClone(openApiDocument(8)));
  // Assess
  assert.deepEqual(result, { valid: true });
  assert.equal(validator.version, '3.1');
});

test('the validator refuses a document that breaks the specification', async () => {
  // Prepare: a path parameter that is not required, which OpenAPI forbids.
  const broken = structuredClone(openApiDocument(8)) as unknown as {
    paths: Record<string, { get: { parameters: Array<{ required: boolean }> } }>;
  };
  (broken.paths['/vaults/{vault}']?.get.parameters[0] as { required: boolean }).required = false;
  // Act
  const result = await new Validator().validate(broken);
  // Assess
  assert.equal(result.valid, false);
});

test('every httpApi route of serverless.yml is in the document, and nothing else', async () => {
  // Prepare
  const routes = await serverlessRoutes();
  const document = openApiDocument(8);
  // Act
  const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
  );
  // Assess
  assert.ok(routes.length > 40, `read ${routes.length} routes`);
  assert.deepEqual(
    documented.sort(),
    routes
      .map((r) => {
        const [method, path] = r.split(' ') as [string, string];
        return `${method} ${openApiPath(path)}`;
      })
      .sort(),
  );
  // The table the document is built from and the policy table name the same routes.
  assert.deepEqual(Object.keys(routeTable(8)).sort(), [...routes].sort());
  assert.deepEqual(Object.keys(ROUTE_ACTIONS).sort(), [...routes].sort());
});

test('every operation is signed with SigV4 and documents its error body', () => {
  // Prepare
  const document = openApiDocument(8);
  // Act, Assess
  assert.deepEqual(document.security, [{ sigv4: [] }]);
  assert.match(document.components.securitySchemes.sigv4.description, /Signature Version 4.*`dsn`/);
  for (const [path, ops] of Object.entries(document.paths))
    for (const [method, op] of Object.entries(
      ops as Record<string, { responses: Record<string, unknown> }>,
    ))
      assert.deepEqual(
        op.responses.default,
        {
          description: (op.responses.default as { description: string }).description,
          content: {
            'application/json': {
              schema: {
                oneOf: [
                  { $ref: '#/components/schemas/Error' },
                  { $ref: '#/components/schemas/GatewayError' },
                ],
              },
            },
          },
        },
        `${method} ${path}`,
      );
  // Only the console's files are served unsigned (they are what a browser loads to sign in).
  const unsigned = Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.entries(ops as Record<string, { security?: unknown[] }>)
      .filter(([, op]) => op.security !== undefined)
      .map(([method, op]) => [`${method.toUpperCase()} ${path}`, op.security]),
  );
  assert.deepEqual(unsigned, [
    ['GET /console', []],
    ['GET /console/{path}', []],
  ]);
});

test('request schemas are the ones the handlers validate with', () => {
  // Prepare
  const document = openApiDocument(8) as unknown as {
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: Array<{ name: string; in: string }>;
          requestBody?: {
            content: Record<string, { schema: { properties: Record<string, unknown> } }>;
          };
        }
      >
    >;
  };
  // Act
  const upload =
    document.paths['/vaults/{vault}/uploads']?.post?.requestBody?.content['application/json']
      ?.schema;
  const listing = document.paths['/vaults/{vault}/objects']?.get?.parameters
    ?.filter((p) => p.in === 'query')
    .map((p) => p.name);
  // Assess: the fields of the zod schemas, neither more nor fewer.
  assert.deepEqual(Object.keys(upload?.properties ?? {}), Object.keys(createUploadSchema.shape));
  assert.deepEqual(listing, Object.keys(listingQuerySchema.shape));
});
