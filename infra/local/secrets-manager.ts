/**
 * Secrets Manager for the local cloud, on the AWS endpoint (fauxqs's port), for the secrets a
 * user creates: the named credentials of a replication's outside endpoint. No emulator in the
 * toolbox covers it (fauxqs is S3, SNS and SQS), so the part the project and a user's CLI call
 * is written here: CreateSecret, GetSecretValue, PutSecretValue, DescribeSecret, ListSecrets
 * and DeleteSecret on string secrets, in AWS's JSON protocol (`X-Amz-Target: secretsmanager.*`)
 * with its error types, kept in `<dataDir>/secretsmanager.json`. Where it differs from AWS (no
 * binary secrets, no version stages but the current one, a delete is immediate, nothing is
 * encrypted at rest) the start-up banner says so.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { interpose } from './interpose.ts';

interface StoredSecret {
  name: string;
  arn: string;
  value: string;
  versionId: string;
  description?: string;
  /** Epoch seconds, as the JSON protocol sends dates. */
  createdAt: number;
  changedAt: number;
}

export interface SecretsManagerOptions {
  dataDir: string;
  region: string;
  accountId: string;
  now?: () => number;
}

/** A request AWS would refuse, with AWS's error type. */
class SecretsError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

export class LocalSecretsManager {
  private readonly file: string;
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly opts: SecretsManagerOptions;

  constructor(opts: SecretsManagerOptions) {
    this.opts = opts;
    this.file = join(opts.dataDir, 'secretsmanager.json');
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let stored: unknown;
    try {
      stored = JSON.parse(text);
    } catch (err) {
      stored = err;
    }
    if (!Array.isArray(stored))
      throw new Error(
        `${this.file} is not the local cloud's list of secrets (a JSON array): mend or remove it`,
      );
    for (const s of stored as StoredSecret[]) this.secrets.set(s.name, s);
  }

  /** Answers `secretsmanager.*` requests on `server`; passes every other request on. */
  install(server: Server): void {
    interpose(server, (req, res, pass) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (!target.startsWith('secretsmanager.')) return pass(req, res);
      void this.serve(req, res, target.slice('secretsmanager.'.length));
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse, operation: string) {
    const reply = (status: number, body: unknown, type?: string) => {
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': randomUUID(),
        ...(type ? { 'x-amzn-errortype': type } : {}),
      });
      res.end(JSON.stringify(body));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        throw new SecretsError('InvalidRequestException', 'The request body is not JSON.');
      }
      reply(200, this.run(operation, input));
    } catch (err) {
      if (err instanceof SecretsError)
        reply(400, { __type: err.type, message: err.message }, err.type);
      else reply(500, { __type: 'InternalServiceError', message: (err as Error).message });
    }
  }

  private run(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'CreateSecret':
        return this.create(input);
      case 'GetSecretValue': {
        const s = this.find(input.SecretId);
        return {
          ARN: s.arn,
          Name: s.name,
          VersionId: s.versionId,
          SecretString: s.value,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: s.changedAt,
        };
      }
      case 'PutSecretValue': {
        const s = this.find(input.SecretId);
        s.value = secretString(input);
        s.versionId = randomUUID();
        s.changedAt = this.now();
        this.save();
        return { ARN: s.arn, Name: s.name, VersionId: s.versionId, VersionStages: ['AWSCURRENT'] };
      }
      case 'DescribeSecret':
        return describe(this.find(input.SecretId));
      case 'ListSecrets':
        return { SecretList: [...this.secrets.values()].map(describe) };
      case 'DeleteSecret': {
        const s = this.find(input.SecretId);
        this.secrets.delete(s.name);
        this.save();
        return { ARN: s.arn, Name: s.name, DeletionDate: this.now() };
      }
      default:
        throw new SecretsError(
          'InvalidRequestException',
          `${operation} is not emulated by the local cloud (CreateSecret, GetSecretValue, PutSecretValue, DescribeSecret, ListSecrets and DeleteSecret are)`,
        );
    }
  }

  private create(input: Record<string, unknown>) {
    const name = input.Name;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new SecretsError(
        'InvalidParameterException',
        'Name must be 1-512 characters of letters, digits and /_+=.@-',
      );
    if (this.secrets.has(name))
      throw new SecretsError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    const now = this.now();
    // AWS ends a secret's ARN with a hyphen and six random characters.
    const suffix = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6);
    const s: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${this.opts.region}:${this.opts.accountId}:secret:${name}-${suffix}`,
      value: secretString(input),
      versionId: randomUUID(),
      ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
      createdAt: now,
      changedAt: now,
    };
    this.secrets.set(name, s);
    this.save();
    return { ARN: s.arn, Name: s.name, VersionId: s.versionId };
  }

  /** The ARN of the secret `id` names (by name or ARN), if it exists. */
  arnOf(id: string): string | undefined {
    try {
      return this.find(id).arn;
    } catch {
      return undefined;
    }
  }

  /** A secret by name or ARN (a secret's ARN, or a partial one without the random suffix). */
  private find(id: unknown): StoredSecret {
    if (typeof id !== 'string' || id.length === 0)
      throw new SecretsError('InvalidParameterException', 'SecretId is required.');
    const byName = this.secrets.get(id);
    if (byName) return byName;
    for (const s of this.secrets.values())
      if (s.arn === id || s.arn.slice(0, -7) === id || id.endsWith(`:secret:${s.name}`)) return s;
    throw new SecretsError(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret.",
    );
  }

  private now(): number {
    return Math.floor((this.opts.now ?? Date.now)() / 1000);
  }

  /** Written whole, then renamed over the old file: a crash leaves one or the other. */
  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.secrets.values()]), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}

function secretString(input: Record<string, unknown>): string {
  if (input.SecretBinary !== undefined)
    throw new SecretsError(
      'InvalidRequestException',
      'SecretBinary is not emulated by the local cloud: store a SecretString',
    );
  if (typeof input.SecretString !== 'string' || input.SecretString.length === 0)
    throw new SecretsError('InvalidParameterException', 'SecretString is required.');
  if (Buffer.byteLength(input.SecretString) > 65536)
    throw new SecretsError('InvalidParameterException', 'SecretString is at most 65536 bytes.');
  return input.SecretString;
}

function describe(s: StoredSecret) {
  return {
    ARN: s.arn,
    Name: s.name,
    ...(s.description ? { Description: s.description } : {}),
    CreatedDate: s.createdAt,
    LastChangedDate: s.changedAt,
  };
}
