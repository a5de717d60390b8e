/**
 * The API described for tools: an OpenAPI 3.1 document built from the zod schemas the handlers
 * validate with (request bodies, path and query parameters), so nothing is written twice, plus
 * zod schemas of each route's JSON answers and of the error body. Served at
 * `GET /openapi.json`; the tests lint it, check it covers every route of serverless.yml, and
 * check the answers of the integration tests against it.
 */
import { z } from 'zod';
import { json, type Route } from '../http.ts';
import { errorBodySchema, gatewayErrorSchema } from './openapi-responses.ts';
import { routeTable } from './openapi-routes.ts';

export { routeTable };

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), as a client sends it. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  // Refinements and transforms (key rules, decimal digits) have no JSON Schema: the document
  // shows the type they start from, and the handler's 400 says the rest.
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

/** `{key+}` (API Gateway's greedy parameter) as OpenAPI names it: `{key}`, slashes allowed. */
export function openApiPath(path: string): string {
  return path.replace(/\{([A-Za-z]+)\+\}/g, '{$1}');
}

const ERROR = '#/components/schemas/Error';
const GATEWAY_ERROR = '#/components/schemas/GatewayError';

/** The OpenAPI 3.1 document of the API, for a pool of `poolSize` units. */
export function openApiDocument(poolSize: number) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [route, op] of Object.entries(routeTable(poolSize))) {
    const [method, path] = route.split(' ') as [string, string];
    const parameters: unknown[] = [];
    for (const [name, schema] of Object.entries(op.path ?? {}))
      parameters.push({
        name,
        in: 'path',
        required: true,
        schema: jsonSchema(schema, 'input'),
        ...(path.includes(`{${name}+}`)
          ? { description: 'the rest of the path: may hold "/"' }
          : {}),
      });
    if (op.query) {
      const query = jsonSchema(op.query, 'input') as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
      for (const [name, schema] of Object.entries(query.properties ?? {}))
        parameters.push({
          name,
          in: 'query',
          required: query.required?.includes(name) ?? false,
          schema,
        });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(op.responses)) {
      const content: Record<string, unknown> = {};
      if (answer.schema)
        content['application/json'] = { schema: jsonSchema(answer.schema, 'output') };
      if (answer.bytes)
        content['application/octet-stream'] = {
          schema: { type: 'string', contentMediaType: 'application/octet-stream' },
        };
      if (answer.media)
        content[answer.media] = { schema: { type: 'string', contentMediaType: answer.media } };
      responses[status] = {
        description: answer.description,
        ...(Object.keys(content).length > 0 ? { content } : {}),
      };
    }
    responses.default = {
      description:
        "an error: 400 names the field and the rule; 401, 403, 404, 409, 412, 413, 429, 503 …; API Gateway's own answers (a timeout's 503, throttling's 429) are `{\"message\"}`",
      content: {
        'application/json': { schema: { oneOf: [{ $ref: ERROR }, { $ref: GATEWAY_ERROR }] } },
      },
    };
    let requestBody: unknown;
    if (op.body && 'schema' in op.body)
      requestBody = {
        required: op.body.required ?? true,
        content: { 'application/json': { schema: jsonSchema(op.body.schema, 'input') } },
      };
    else if (op.body)
      requestBody = {
        required: true,
        content: { [op.body.bytes]: { schema: { type: 'string' } } },
      };
    const key = openApiPath(path);
    paths[key] ??= {};
    (paths[key] as Record<string, unknown>)[method.toLowerCase()] = {
      operationId: operationId(method, path),
      summary: op.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
      ...(op.public ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'dsn',
      version: '0.1.0',
      description:
        'A dispersed storage network on serverless primitives. Every request is signed with AWS Signature Version 4, service `dsn`.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ sigv4: [] }],
    paths,
    components: {
      schemas: {
        Error: jsonSchema(errorBodySchema, 'output'),
        GatewayError: jsonSchema(gatewayErrorSchema, 'output'),
      },
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'AWS Signature Version 4 (AWS4-HMAC-SHA256), service `dsn`, the region of the deployment; session credentials add `x-amz-security-token`.',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
  };
}

/** `GET /vaults/{vault}/objects/{key+}` as `getVaultsVaultObjectsKey`. */
function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((w) => w.replace(/[{}+.]/g, ''))
    .map((w) => w.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
  return method.toLowerCase() + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

export function openApiRoutes(poolSize: number): Record<string, Route> {
  let document: string | undefined;
  return {
    'GET /openapi.json': async () => {
      document ??= JSON.stringify(openApiDocument(poolSize));
      return { ...json(200, {}), body: document };
    },
  };
}
