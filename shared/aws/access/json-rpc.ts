/**
 * One call to an AWS JSON-protocol service (KMS, Secrets Manager), signed with the SDK's SigV4
 * signer and the process's AWS credentials. The project carries no KMS or Secrets Manager SDK
 * client yet (node_modules has neither); both are two calls each, so they go through here.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { NodeSha256 } from '../../access/index.ts';

export interface JsonRpcTarget {
  /** `kms`, `secretsmanager`. */
  service: string;
  /** `TrentService`, `secretsmanager`. */
  targetPrefix: string;
  region: string;
  credentials: Provider<AwsCredentialIdentity>;
}

/** Calls `action` with `input` and returns the parsed answer. @throws Error with AWS's message */
export async function callJson<T>(
  target: JsonRpcTarget,
  action: string,
  input: unknown,
): Promise<T> {
  const host = `${target.service}.${target.region}.amazonaws.com`;
  const body = JSON.stringify(input);
  const signer = new SignatureV4({
    credentials: target.credentials,
    region: target.region,
    service: target.service,
    sha256: NodeSha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'https:',
    hostname: host,
    path: '/',
    query: {},
    headers: {
      host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `${target.targetPrefix}.${action}`,
    },
    body,
  });
  const { host: _host, ...headers } = signed.headers;
  const res = await fetch(`https://${host}/`, { method: 'POST', headers, body });
  const text = await res.text();
  if (!res.ok)
    throw new Error(`${target.service} ${action} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}
