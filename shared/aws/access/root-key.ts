/**
 * Where the root admin key lives: on AWS a Secrets Manager secret the stack generates
 * (`RootKeySecret`: `{"accessKeyId","secretAccessKey"}`); on the local cloud the
 * credentials.json it writes on first start. Read once per execution environment.
 */
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { Credentials, RootKeySource } from '../../access/index.ts';

const credentialsSchema = z.object({
  accessKeyId: z.string().min(16),
  secretAccessKey: z.string().min(20),
});

export class SecretsManagerRootKey implements RootKeySource {
  private readonly secrets: SecretsManagerClient;
  private readonly secretId: string;
  private cached: Promise<Credentials> | undefined;

  constructor(secrets: SecretsManagerClient, secretId: string) {
    this.secrets = secrets;
    this.secretId = secretId;
  }

  get(): Promise<Credentials> {
    this.cached ??= this.secrets
      .send(new GetSecretValueCommand({ SecretId: this.secretId }))
      .then((out) => credentialsSchema.parse(JSON.parse(out.SecretString ?? '')));
    this.cached.catch(() => {
      this.cached = undefined;
    });
    return this.cached;
  }
}

export class FileRootKey implements RootKeySource {
  private readonly file: string;
  private cached: Promise<Credentials> | undefined;

  constructor(file: string) {
    this.file = file;
  }

  get(): Promise<Credentials> {
    this.cached ??= readFile(this.file, 'utf8').then((text) =>
      credentialsSchema.parse(JSON.parse(text)),
    );
    return this.cached;
  }
}
