/**
 * `@dsn/client`: the typed client of the dsn HTTP API, for Node (20 and later). Every request
 * goes through one Transport: signed (SigV4 over node:crypto), and retried with back-off on
 * 429 and 503 (see client/transport.ts for which answers are final). A browser uses
 * client/web.ts, which signs with WebCrypto instead.
 *
 *   const dsn = createDsnClient({ endpoint, credentials: { accessKeyId, secretAccessKey } });
 *   const { data } = await dsn.api.GET('/vaults');
 *   await dsn.upload('photos', 'a.jpg', await openAsBlob('a.jpg'));
 *
 * Large objects go faster by the client-side paths, which encode and decode here and move the
 * slices straight to and from the units' buckets (the `dsn` CLI uses them from 8 MiB):
 *
 *   import { uplinkPut } from '@dsn/client/uplink';      // uplinkPut(dsn, createReadStream(f), vault, key)
 *   import { openDownlink } from '@dsn/client/downlink';  // (await openDownlink(dsn, vault, key)).body
 *
 * They are entry points of their own, since they load the codec (shared/codec) and node:http.
 */
import { type Credentials, signatureHeaders } from '../shared/access/signer.ts';
import { DsnClient } from './dsn-client.ts';
import { type RequestSigner, Transport, type TransportOptions } from './transport.ts';

export type { paths } from './api-types.ts';
export * from './dsn-client.ts';
export {
  type Credentials,
  DEFAULT_RETRY,
  DsnUnreachableError,
  FINAL_CODES,
  type RequestSigner,
  type RetryPolicy,
  Transport,
  type TransportOptions,
} from './transport.ts';

/** A signer for `credentials` in `region` (serverless.yml's default, us-east-1, unless told). */
export function nodeSigner(credentials: Credentials, region = 'us-east-1'): RequestSigner {
  return (url, method) => signatureHeaders(url, method, credentials, region);
}

export interface ClientOptions extends Omit<TransportOptions, 'signer'> {
  /** The key to sign with; without one, requests go unsigned (and the API answers 401). */
  credentials?: Credentials;
  /** The region the deployment signs for (default us-east-1). */
  region?: string;
}

/** A client of the API at `options.endpoint`. */
export function createDsnClient(options: ClientOptions): DsnClient {
  const { credentials, region, ...rest } = options;
  return new DsnClient(
    new Transport({ ...rest, ...(credentials ? { signer: nodeSigner(credentials, region) } : {}) }),
  );
}
