/**
 * The console's session: the access key a person signs in with, kept in sessionStorage (gone
 * when the tab closes), and the client built from it. The console talks to the API that serves
 * it, so the endpoint is the page's own origin.
 */
import { createWebDsnClient, type DsnClient } from '../../client/web.ts';
import type { WorkerConnection } from '../../client/web-transfers.ts';

export interface SignIn {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

const STORAGE_KEY = 'dsn-console-signin';

export function savedSignIn(): SignIn | undefined {
  const text = sessionStorage.getItem(STORAGE_KEY);
  return text ? (JSON.parse(text) as SignIn) : undefined;
}

export function saveSignIn(signIn: SignIn | undefined): void {
  if (signIn) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(signIn));
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** Where the API is and how to sign for it, as a dispersal's worker takes it. */
export function connectionFor(signIn: SignIn): Required<Omit<WorkerConnection, 'region'>> & {
  region: string;
} {
  return {
    endpoint: location.origin,
    credentials: {
      accessKeyId: signIn.accessKeyId,
      secretAccessKey: signIn.secretAccessKey,
      ...(signIn.sessionToken ? { sessionToken: signIn.sessionToken } : {}),
    },
    region: signIn.region,
  };
}

export function clientFor(signIn: SignIn): DsnClient {
  return createWebDsnClient(connectionFor(signIn));
}
