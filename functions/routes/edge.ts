/**
 * Pre-positioning's admin routes (`/admin/edge`): the pool's edge units and the groups, one
 * group's configuration and state, and planner runs on request.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  configureGroup,
  type EdgeAdminDeps,
  edgeOverview,
  groupNameSchema,
  groupState,
  requestPlan,
  validateGroupName,
} from '../../shared/edge/index.ts';
import { parseWith, strictObject } from '../../shared/validate.ts';
import { json, jsonBody, principalOf, type Route } from '../http.ts';

/** The header that names a read's client group when its key has none (and with DSN_AUTH=off). */
export const CLIENT_GROUP_HEADER = 'x-dsn-client-group';

/**
 * The client group a request reads for: its key's group, else the `x-dsn-client-group`
 * header, else none. @throws InvalidParameterError for a malformed header.
 */
export function clientGroupOf(event: APIGatewayProxyEventV2): string | undefined {
  const own = principalOf(event).clientGroup;
  if (own !== undefined) return own;
  const header = event.headers?.[CLIENT_GROUP_HEADER];
  return header === undefined ? undefined : validateGroupName(header, CLIENT_GROUP_HEADER);
}

/** The body of `POST /admin/edge/plan`: a group, or none for every group. */
export const planRequestSchema = strictObject(
  { group: groupNameSchema.optional() },
  'a plan field',
);

export function edgeRoutes(deps: EdgeAdminDeps): Record<string, Route> {
  return {
    'GET /admin/edge': async () => json(200, await edgeOverview(deps)),
    'PUT /admin/edge/groups/{group}': async (event) =>
      json(200, await configureGroup(deps, event.pathParameters?.group, jsonBody(event))),
    'GET /admin/edge/groups/{group}': async (event) =>
      json(200, await groupState(deps, event.pathParameters?.group)),
    'POST /admin/edge/plan': async (event) => {
      const body = event.body ? jsonBody(event) : {};
      return json(202, await requestPlan(deps, parseWith(planRequestSchema, body)));
    },
    'GET /admin/edge/plan': async () => json(200, { lastRun: (await deps.edge.lastRun()) ?? null }),
  };
}
