/**
 * The answers of the integration tests checked against the API's OpenAPI document: each JSON
 * answer of a route the document names must match the schema of its status (or `default`, the
 * error body). Installed by signing.ts when `DSN_TEST_VALIDATE_RESPONSES=1`; a mismatch makes
 * the fetch that saw it throw, naming the route, the status and what did not match.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { openApiDocument, routeTable } from '../../functions/routes/openapi.ts';

interface Matcher {
  method: string;
  route: string;
  pattern: RegExp;
  /** Literal segments: a route with more wins over one with a parameter in their place. */
  literals: number;
}

const document = openApiDocument(8);
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });
ajv.addSchema(document, 'dsn');

const matchers: Matcher[] = Object.keys(routeTable(8))
  .map((route) => {
    const [method, path] = route.split(' ') as [string, string];
    const segments = path.split('/').slice(1);
    const source = segments
      .map((s) => (s.endsWith('+}') ? '.+' : s.startsWith('{') ? '[^/]+' : s.replace(/\./g, '\\.')))
      .join('/');
    return {
      method,
      route,
      pattern: new RegExp(`^/${source}$`),
      literals: segments.filter((s) => !s.startsWith('{')).length,
    };
  })
  .sort((a, b) => b.literals - a.literals);

/** The route of `method path`, as serverless.yml names it, or undefined. */
export function routeOf(method: string, pathname: string): string | undefined {
  return matchers.find((m) => m.method === method && m.pattern.test(pathname))?.route;
}

/** JSON Pointer escaping of one reference token. */
const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Checks `response` (a JSON answer of `method url`) against the document.
 * @throws Error naming the route, status and mismatch
 */
export async function checkResponse(method: string, url: URL, response: Response): Promise<void> {
  const type = response.headers.get('content-type') ?? '';
  // HEAD answers carry the headers of the JSON they would have, and no body.
  if (method === 'HEAD' || !type.startsWith('application/json')) return;
  const route = routeOf(method, url.pathname);
  if (route === undefined) return;
  const [, path] = route.split(' ') as [string, string];
  const openApi = path.replace(/\{([A-Za-z]+)\+\}/g, '{$1}');
  const op = (
    document.paths[openApi] as Record<string, { responses: Record<string, unknown> }> | undefined
  )?.[method.toLowerCase()];
  if (!op) throw new Error(`openapi.json has no ${route}`);
  const status = String(response.status);
  const documented = status in op.responses ? status : 'default';
  const answer = op.responses[documented] as { content?: Record<string, unknown> };
  if (!answer.content?.['application/json'])
    throw new Error(`${route} answered ${status} JSON, which openapi.json does not document`);
  const ref = `dsn#/paths/${pointer(openApi)}/${method.toLowerCase()}/responses/${documented}/content/application~1json/schema`;
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`no schema at ${ref}`);
  const body: unknown = JSON.parse(await response.text());
  if (!validate(body))
    throw new Error(
      `${route} answered ${status} with a body that breaks its schema (${documented}): ${ajv.errorsText(validate.errors)}; body ${JSON.stringify(body).slice(0, 500)}`,
    );
}
