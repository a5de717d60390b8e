/**
 * What the local cloud's layers in front of fauxqs (fault injection, conditional writes) need
 * to read an S3 request and answer one the way S3 does (they are put in place with
 * interpose.ts). Requests are path-style
 * (`/bucket/key`): every client the local cloud configures sets `forcePathStyle`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The bucket and key an S3 request names; undefined for SNS, SQS and DynamoDB calls. */
export function s3Target(req: IncomingMessage): { bucket: string; key: string } | undefined {
  if (req.headers['x-amz-target']) return undefined;
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const slash = path.indexOf('/', 1);
  const bucket = path.slice(1, slash === -1 ? undefined : slash);
  if (!bucket) return undefined;
  try {
    return {
      bucket: decodeURIComponent(bucket),
      key: slash === -1 ? '' : decodeURIComponent(path.slice(slash + 1)),
    };
  } catch {
    return undefined; // a malformed escape: fauxqs answers it with 400
  }
}

/** Text escaped for an XML document's content. */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

/** Answers with S3's XML error document (the message escaped), and any `headers` besides. */
export function sendS3Error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}
