/**
 * Every test talks to an auth-enforcing local cloud, signed with one root key per test process:
 * - `DSN_ACCESS_KEY_ID` / `DSN_SECRET_ACCESS_KEY` are set in this process's environment, so a
 *   local cloud started here takes them as its root key on first start (infra/local/credentials.ts),
 *   and a CLI the test runs as a child process signs with them;
 * - the global `fetch` signs (SigV4, the SDK's signer) every request to a loopback origin that
 *   is not signed already, so tests read as before. `unsignedFetch` is the original.
 */
import { randomBytes } from 'node:crypto';
import { type Credentials, signatureHeaders } from '../../shared/access/signer.ts';

/** The region of the service's clouds (serverless.yml `provider.region`). */
export const TEST_REGION = 'us-east-1';

export const TEST_ROOT: Credentials = {
  accessKeyId: `DSNROOTTEST${randomBytes(5).toString('hex').toUpperCase()}`.slice(0, 20),
  secretAccessKey: randomBytes(30).toString('base64url'),
};
process.env.DSN_ACCESS_KEY_ID = TEST_ROOT.accessKeyId;
process.env.DSN_SECRET_ACCESS_KEY = TEST_ROOT.secretAccessKey;

/** The process's fetch, before signing was installed: for requests a test wants unsigned. */
export const unsignedFetch: typeof fetch = globalThis.fetch;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function isSigned(url: URL, headers: Headers): boolean {
  return headers.has('authorization') || url.searchParams.has('X-Amz-Signature');
}

/** Headers that sign `method url` with `credentials` (default the test root). */
export async function signedHeaders(
  url: string | URL,
  method = 'GET',
  credentials: Credentials = TEST_ROOT,
): Promise<Record<string, string>> {
  return signatureHeaders(new URL(url), method, credentials, TEST_REGION);
}

/** A fetch that signs with `credentials` whatever it is given. */
export function fetchAs(credentials: Credentials): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const headers = new Headers(
      init?.headers ?? (input instanceof Request ? input.headers : undefined),
    );
    for (const [k, v] of Object.entries(await signedHeaders(url, method, credentials)))
      headers.set(k, v);
    return unsignedFetch(input, { ...init, headers });
  };
}

const signAsRoot = fetchAs(TEST_ROOT);

/**
 * With `DSN_TEST_VALIDATE_RESPONSES=1`, every JSON answer of a known route is checked against
 * openapi.json (test/helpers/openapi-responses.ts): a mismatch makes the fetch throw.
 */
const checkResponse =
  process.env.DSN_TEST_VALIDATE_RESPONSES === '1'
    ? (await import('./openapi-responses.ts')).checkResponse
    : undefined;

globalThis.fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const headers = new Headers(
    init?.headers ?? (input instanceof Request ? input.headers : undefined),
  );
  if (!LOOPBACK.has(url.hostname)) return unsignedFetch(input, init);
  const response = await (isSigned(url, headers) ? unsignedFetch : signAsRoot)(input, init);
  if (checkResponse) {
    const method = (
      init?.method ?? (input instanceof Request ? input.method : 'GET')
    ).toUpperCase();
    await checkResponse(method, url, response.clone());
  }
  return response;
};
