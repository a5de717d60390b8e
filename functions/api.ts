/**
 * The HTTP API: API Gateway payload 2.0 in, JSON out. Routes map to shared/ and errors map to
 * status codes here, in one place.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { awsClients } from '../shared/aws/clients.ts';
import { deploymentProbes } from '../shared/aws/health-probes.ts';
import { loadConfig } from '../shared/config.ts';
import { checkHealth } from '../shared/health.ts';

const config = loadConfig();
const probes = deploymentProbes(config, awsClients());

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}

export const handler = async (
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> => {
  switch (event.routeKey) {
    case 'GET /health': {
      const report = await checkHealth(config.stage, probes);
      return json(report.status === 'ok' ? 200 : 503, report);
    }
    default:
      return json(404, { error: { code: 'NotFound', message: `no route for ${event.routeKey}` } });
  }
};
