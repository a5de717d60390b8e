/**
 * Serves the web console's built files (dist/console, built by infra/build-console.ts in
 * `npm ci`'s `prepare`) at /console, the same on the local cloud and on AWS (the package
 * includes them). Unsigned: the files hold no secret, and a browser loads them before it has
 * a key to sign with; every API call the page then makes is signed.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Beside the handler in the package (functions/ and dist/ are siblings), and in the checkout. */
const ROOT = resolve(import.meta.dirname, '..', 'dist', 'console');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Scripts and styles from this origin only, and WebAssembly compiled by them (the codec's
  // kernel, for dispersal on the page); API calls to it, to a reader's function URL a large
  // download is redirected to, and to the units' buckets (slices by presigned URL).
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data: blob:; connect-src 'self' https: http:; frame-ancestors 'none'",
};

function answer(
  status: number,
  body: string,
  headers: Record<string, string> = {},
  isBase64Encoded = false,
): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { ...SECURITY, ...headers }, body, isBase64Encoded };
}

/** An error as every route of the API answers one: `{"error":{"code","message"}}`. */
function error(status: number, code: string, message: string) {
  return answer(status, JSON.stringify({ error: { code, message } }), {
    'content-type': 'application/json',
  });
}

const notFound = (asked: string) =>
  error(404, 'NotFound', `the console has no file ${JSON.stringify(asked)}`);

export async function handler(
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  const asked = event.pathParameters?.path ?? 'index.html';
  const path = normalize(join(ROOT, asked));
  if (!path.startsWith(`${ROOT}${sep}`) || asked.includes('\0')) return notFound(asked);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    // No such file, a folder, or a name no file can have (too long, a file as a folder).
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!['ENOENT', 'EISDIR', 'ENOTDIR', 'ENAMETOOLONG', 'EINVAL'].includes(code)) throw err;
    if (asked === 'index.html')
      return error(
        503,
        'ServiceUnavailable',
        'the console is not built: run `npm run build:console` (npm ci does)',
      );
    return notFound(asked);
  }
  const type = TYPES[extname(path)] ?? 'application/octet-stream';
  // Built assets carry a content hash in their names: cached for good. The page is not.
  const cache = asked.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
  const text = type.startsWith('text/') || type === 'application/json' || type === 'image/svg+xml';
  return answer(
    200,
    text ? bytes.toString('utf8') : bytes.toString('base64'),
    { 'content-type': type, 'cache-control': cache },
    !text,
  );
}
