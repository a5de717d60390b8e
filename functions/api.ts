/**
 * The HTTP API: API Gateway payload 2.0 in, JSON out. A thin adapter: each route parses its
 * input, calls shared/, and maps the result; errors map to status codes in functions/http.ts.
 */

import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { awsClients } from '../shared/aws/clients.ts';
import { deploymentProbes } from '../shared/aws/health-probes.ts';
import { SnsSubscriptionManager } from '../shared/aws/subscriptions.ts';
import { DynamoVaultStore } from '../shared/aws/vault-store.ts';
import { loadConfig } from '../shared/config.ts';
import { checkHealth } from '../shared/health.ts';
import { createVault, ensureDefaultVault, validateVaultName } from '../shared/vault.ts';
import { errorResult, type HttpResult, json, jsonBody, toErrorResult } from './http.ts';

const config = loadConfig();
const clients = awsClients();
const probes = deploymentProbes(config, clients);
const vaults = new DynamoVaultStore(clients.documents, config.vaultsTable);
const subscriptions = new SnsSubscriptionManager(
  clients.sns,
  config.networkTopicArn,
  config.unitQueueArns,
);
const poolSize = config.unitBuckets.length;

type Route = (event: APIGatewayProxyEventV2) => Promise<HttpResult>;

const routes: Record<string, Route> = {
  'GET /health': async () => {
    const report = await checkHealth(config.stage, probes);
    return json(report.status === 'ok' ? 200 : 503, report);
  },
  'POST /vaults': async (event) =>
    json(201, await createVault({ vaults, subscriptions, poolSize }, jsonBody(event))),
  'GET /vaults': async () => json(200, { vaults: await vaults.list() }),
  'GET /vaults/{vault}': async (event) =>
    json(200, await vaults.get(validateVaultName(event.pathParameters?.vault, 'vault'))),
};

let ready: Promise<void> | undefined;

export const handler = async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
  const route = routes[event.routeKey];
  if (!route) return errorResult(404, 'NotFound', `no route for ${event.routeKey}`);
  try {
    // Once per execution environment; a failure is retried by the next request.
    ready ??= ensureDefaultVault({ vaults, poolSize }).catch((err) => {
      ready = undefined;
      throw err;
    });
    await ready;
    return await route(event);
  } catch (err) {
    return toErrorResult(err);
  }
};
