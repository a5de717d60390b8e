/**
 * Presigned S3 URLs, as `@aws-sdk/s3-request-presigner` makes them, from the client's own
 * middleware stack: the command is serialized as the client would send it (endpoint, path or
 * virtual-host style, query), then signed into its query string (SigV4 query auth, unsigned
 * payload) instead of being sent. The caller of the URL needs no credentials until it expires.
 * The signing library is `@smithy/signature-v4` (a declared dependency; the S3 client uses it too).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FinalizeHandlerArguments, HttpRequest } from '@smithy/types';

/** An S3 command, as far as presigning it goes (each command's types are its own). */
interface S3Command {
  input: object;
  resolveMiddleware(
    stack: never,
    configuration: S3Client['config'],
    options: object,
  ): (args: never) => Promise<unknown>;
}

/** Headers the SDK adds for its own bookkeeping: they must not bind the URL's caller. */
const SDK_HEADERS = ['amz-sdk-invocation-id', 'amz-sdk-request', 'x-amz-user-agent'];

/**
 * A URL that performs `command` on `client`'s behalf for `expiresInSeconds`. `signedHeaders`
 * stay headers the caller must send with the values signed (`x-amz-checksum-crc32`).
 * The client should not add checksums on its own (`requestChecksumCalculation: WHEN_REQUIRED`),
 * or the URL would bind the caller to the checksum of an empty body.
 */
export async function presignedUrl(
  client: S3Client,
  command: S3Command,
  expiresInSeconds: number,
  options: { signedHeaders?: readonly string[] } = {},
): Promise<string> {
  const stack = client.middlewareStack.clone();
  let presigned: HttpRequest | undefined;
  stack.addRelativeTo(
    (_next: unknown, context: Record<string, unknown>) =>
      async (args: FinalizeHandlerArguments<object>) => {
        const request = args.request as HttpRequest;
        for (const h of SDK_HEADERS) delete request.headers[h];
        // As @aws-sdk/s3-request-presigner spells it; hoisted into the query as it is.
        request.headers['X-Amz-Content-Sha256'] = 'UNSIGNED-PAYLOAD';
        request.headers.host = `${request.hostname}${request.port ? `:${request.port}` : ''}`;
        const signer = new SignatureV4({
          service: 's3',
          region: String(context.signing_region ?? (await client.config.region())),
          credentials: client.config.credentials,
          sha256: client.config.sha256,
          uriEscapePath: false,
          applyChecksum: false,
        });
        presigned = await signer.presign(request, {
          expiresIn: expiresInSeconds,
          unsignableHeaders: new Set(['content-type']),
          // Headers the URL's caller must send as they were signed (a checksum S3 then checks),
          // rather than hoisted into the query.
          unhoistableHeaders: new Set(options.signedHeaders ?? []),
        });
        return { response: {}, output: { $metadata: {} } };
      },
    { name: 'dsnPresign', relation: 'before', toMiddleware: 'awsAuthMiddleware', override: true },
  );
  const handler = command.resolveMiddleware(stack as never, client.config, {});
  await handler({ input: command.input } as never);
  if (!presigned) throw new Error('the presign middleware did not run');
  const { protocol, hostname, port, path, query } = presigned;
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    for (const value of Array.isArray(v) ? v : [v]) if (value !== null) search.append(k, value);
  }
  const url = new URL(`${protocol}//${hostname}${port ? `:${port}` : ''}`);
  url.pathname = path;
  // SigV4 canonicalizes the query with RFC 3986 escapes: spaces as %20, never "+".
  url.search = search.toString().replace(/\+/g, '%20');
  return url.toString();
}
