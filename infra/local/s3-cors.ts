/**
 * Bucket CORS as S3 has it, which fauxqs 2.4 lacks: `PutBucketCors`, `GetBucketCors` and
 * `DeleteBucketCors` (`?cors`), preflight `OPTIONS` answered by the bucket's rules, and the
 * `Access-Control-*` headers on every request whose origin and method a rule allows, error
 * answers included. The web console disperses and reads slices straight from the units'
 * buckets through presigned URLs, across origins, so the local cloud must answer a browser as
 * S3 does: allowed by a rule, or refused with 403 before anything is stored.
 *
 * Written here because no library emulates S3's CORS; the matching follows S3's documented
 * rules: the first rule whose origin (one `*` wildcard at most), method and every requested
 * header (case-insensitive, `*` wildcards) match wins. Rules are kept in `<dataDir>/s3-cors.json`.
 */

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { DeleteBucketCorsCommand, PutBucketCorsCommand, type S3Client } from '@aws-sdk/client-s3';
import { interpose } from './interpose.ts';
import { escapeXml, s3Target, sendS3Error } from './s3-http.ts';

/** One CORS rule, in the SDK's shape (`CORSRules[]` of `PutBucketCors`). */
export interface CorsRule {
  ID?: string;
  AllowedOrigins: string[];
  AllowedMethods: string[];
  AllowedHeaders?: string[];
  ExposeHeaders?: string[];
  MaxAgeSeconds?: number;
}

/** S3 takes at most 100 rules per bucket. */
const MAX_RULES = 100;
const METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);

/** `pattern` (with at most one `*`) against `text`; `fold` compares without case. */
function wildcard(pattern: string, text: string, fold = false): boolean {
  const p = fold ? pattern.toLowerCase() : pattern;
  const t = fold ? text.toLowerCase() : text;
  const star = p.indexOf('*');
  if (star === -1) return p === t;
  const head = p.slice(0, star);
  const tail = p.slice(star + 1);
  return t.length >= head.length + tail.length && t.startsWith(head) && t.endsWith(tail);
}

/** The first rule allowing `origin`, `method` and every one of `headers`. */
export function matchRule(
  rules: readonly CorsRule[],
  origin: string,
  method: string,
  headers: readonly string[],
): CorsRule | undefined {
  return rules.find(
    (r) =>
      r.AllowedOrigins.some((o) => wildcard(o, origin)) &&
      r.AllowedMethods.includes(method) &&
      headers.every((h) => (r.AllowedHeaders ?? []).some((a) => wildcard(a, h, true))),
  );
}

const text = (xml: string, tag: string): string[] =>
  [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) =>
    (m[1] as string)
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&'),
  );

/** The rules of a `PutBucketCors` body; a message naming what is wrong when they break S3's rules. */
export function parseCorsXml(xml: string): CorsRule[] | string {
  const blocks = [...xml.matchAll(/<CORSRule>([\s\S]*?)<\/CORSRule>/g)].map((m) => m[1] as string);
  if (blocks.length === 0) return 'the CORS configuration has no CORSRule';
  if (blocks.length > MAX_RULES) return `the CORS configuration has more than ${MAX_RULES} rules`;
  const rules: CorsRule[] = [];
  for (const block of blocks) {
    const rule: CorsRule = {
      AllowedOrigins: text(block, 'AllowedOrigin'),
      AllowedMethods: text(block, 'AllowedMethod'),
      AllowedHeaders: text(block, 'AllowedHeader'),
      ExposeHeaders: text(block, 'ExposeHeader'),
    };
    const [id] = text(block, 'ID');
    if (id !== undefined) rule.ID = id;
    const [maxAge] = text(block, 'MaxAgeSeconds');
    if (maxAge !== undefined) rule.MaxAgeSeconds = Number(maxAge);
    if (rule.AllowedOrigins.length === 0 || rule.AllowedMethods.length === 0)
      return 'a CORSRule needs an AllowedOrigin and an AllowedMethod';
    const method = rule.AllowedMethods.find((m) => !METHODS.has(m));
    if (method !== undefined)
      return `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`;
    const origin = rule.AllowedOrigins.find((o) => o.split('*').length > 2);
    if (origin !== undefined)
      return `AllowedOrigin "${origin}" can not have more than one wildcard.`;
    rules.push(rule);
  }
  return rules;
}

function corsXml(rules: readonly CorsRule[]): string {
  const tags = (tag: string, values: readonly string[] | undefined) =>
    (values ?? []).map((v) => `<${tag}>${escapeXml(v)}</${tag}>`).join('');
  const body = rules
    .map(
      (r) =>
        `<CORSRule>${r.ID !== undefined ? `<ID>${escapeXml(r.ID)}</ID>` : ''}${tags('AllowedHeader', r.AllowedHeaders)}${tags('AllowedMethod', r.AllowedMethods)}${tags('AllowedOrigin', r.AllowedOrigins)}${tags('ExposeHeader', r.ExposeHeaders)}${r.MaxAgeSeconds !== undefined ? `<MaxAgeSeconds>${r.MaxAgeSeconds}</MaxAgeSeconds>` : ''}</CORSRule>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${body}</CORSConfiguration>`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The local S3's bucket CORS: rules by bucket, kept on disk, and the layer that applies them. */
export class S3Cors {
  private readonly file: string;
  private readonly rules: Map<string, CorsRule[]>;

  constructor(dataDir: string) {
    this.file = join(dataDir, 's3-cors.json');
    let saved: Record<string, CorsRule[]> = {};
    try {
      saved = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      // None kept yet.
    }
    this.rules = new Map(Object.entries(saved));
  }

  rulesOf(bucket: string): readonly CorsRule[] | undefined {
    return this.rules.get(bucket);
  }

  private async save(): Promise<void> {
    await writeFile(this.file, JSON.stringify(Object.fromEntries(this.rules)));
  }

  /** Puts the layer in front of the server: outside fault injection, so a refused preflight reaches nothing. */
  install(server: Server, s3: { hasBucket(name: string): boolean }): void {
    interpose(server, (req, res, pass) => {
      const target = s3Target(req);
      if (!target) return pass(req, res);
      const query = new URLSearchParams((req.url ?? '').split('?', 2)[1] ?? '');
      if (query.has('cors') && target.key === '') {
        if (!s3.hasBucket(target.bucket)) {
          req.resume();
          sendS3Error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
          return;
        }
        this.configure(req, res, target.bucket).catch((err: Error) =>
          sendS3Error(res, 500, 'InternalError', err.message),
        );
        return;
      }
      const origin = req.headers.origin;
      if (origin === undefined) return pass(req, res);
      if (req.method === 'OPTIONS') return this.preflight(req, res, target.bucket, origin);
      const rule = matchRule(this.rules.get(target.bucket) ?? [], origin, req.method ?? '', []);
      if (rule) this.allow(res, rule, origin);
      pass(req, res);
    });
  }

  /** Sets the answer's CORS headers for an allowed request. */
  private allow(res: ServerResponse, rule: CorsRule, origin: string): void {
    const any = rule.AllowedOrigins.includes('*');
    res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
    res.setHeader('Access-Control-Allow-Methods', rule.AllowedMethods.join(', '));
    if (!any) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (rule.ExposeHeaders?.length)
      res.setHeader('Access-Control-Expose-Headers', rule.ExposeHeaders.join(', '));
    if (rule.MaxAgeSeconds !== undefined)
      res.setHeader('Access-Control-Max-Age', String(rule.MaxAgeSeconds));
    res.setHeader('Vary', 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method');
  }

  private preflight(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    origin: string,
  ): void {
    req.resume();
    const method = req.headers['access-control-request-method'];
    const requested = (req.headers['access-control-request-headers'] ?? '')
      .toString()
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    const rules = this.rules.get(bucket);
    const rule =
      typeof method === 'string' && rules ? matchRule(rules, origin, method, requested) : undefined;
    if (!rule) {
      const [status, code, message] =
        typeof method !== 'string' || method === ''
          ? [400, 'BadRequest', 'Insufficient information. Origin request header needed.']
          : !rules
            ? [403, 'AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.']
            : [403, 'AccessForbidden', 'CORSResponse: This CORS request is not allowed.'];
      sendS3Error(res, status as number, code as string, message as string);
      return;
    }
    this.allow(res, rule, origin);
    if (requested.length > 0) res.setHeader('Access-Control-Allow-Headers', requested.join(', '));
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  }

  private async configure(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
  ): Promise<void> {
    if (req.method === 'GET') {
      req.resume();
      const rules = this.rules.get(bucket);
      if (!rules)
        return sendS3Error(
          res,
          404,
          'NoSuchCORSConfiguration',
          'The CORS configuration does not exist',
        );
      const body = corsXml(rules);
      res.writeHead(200, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    if (req.method === 'DELETE') {
      req.resume();
      this.rules.delete(bucket);
      await this.save();
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method === 'PUT') {
      const parsed = parseCorsXml(await readBody(req));
      if (typeof parsed === 'string') return sendS3Error(res, 400, 'MalformedXML', parsed);
      this.rules.set(bucket, parsed);
      await this.save();
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    req.resume();
    sendS3Error(res, 405, 'MethodNotAllowed', `${req.method} is not allowed on ?cors`);
  }
}

/** CloudFormation's `CorsConfiguration` of a bucket, put with the SDK as the stack would (none: deleted). */
export async function applyBucketCors(
  s3: S3Client,
  bucket: string,
  config: unknown,
): Promise<void> {
  const rules = (config as { CorsRules?: Array<Record<string, unknown>> } | undefined)?.CorsRules;
  if (!rules?.length) {
    await s3.send(new DeleteBucketCorsCommand({ Bucket: bucket }));
    return;
  }
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: bucket,
      CORSConfiguration: {
        CORSRules: rules.map((r) => ({
          ID: r.Id as string | undefined,
          AllowedOrigins: r.AllowedOrigins as string[],
          AllowedMethods: r.AllowedMethods as string[],
          AllowedHeaders: r.AllowedHeaders as string[] | undefined,
          ExposeHeaders: r.ExposedHeaders as string[] | undefined,
          MaxAgeSeconds: r.MaxAge as number | undefined,
        })),
      },
    }),
  );
}
