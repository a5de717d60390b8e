/**
 * The HTTP API: API Gateway payload 2.0 in, JSON or bytes out. Each system contributes its
 * routes (functions/routes/); errors map to status codes in functions/http.ts.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { wireKeys, wireScanRules } from '../shared/aws/access/wire.ts';
import { wireEdgeApi, wireStaging } from '../shared/aws/edge/wire.ts';
import { deploymentProbes } from '../shared/aws/health-probes.ts';
import { wireListenerRegistry } from '../shared/aws/listeners/wire.ts';
import { wireExplain, wireRebuildControl } from '../shared/aws/repair/wire.ts';
import { wireContinuous } from '../shared/aws/replication/continuous-wire.ts';
import { wireReplicationJobs } from '../shared/aws/replication/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { wireStoreApi } from '../shared/aws/store/wire.ts';
import { topologyChanges, wireCommands, wireTopology } from '../shared/aws/topology/wire.ts';
import { wireWork } from '../shared/aws/work/wire.ts';
import { edgeBus } from '../shared/edge/index.ts';
import { RouteNotFoundError } from '../shared/errors.ts';
import { checkHealth } from '../shared/health.ts';
import { everyBus } from '../shared/listeners/index.ts';
import { replicationBus } from '../shared/replication/index.ts';
import { ensureDefaultVault } from '../shared/store/index.ts';
import { FreezeGate } from '../shared/topology/index.ts';
import { type HttpResult, json, principalOf, type Route, toErrorResult } from './http.ts';
import { accessRoutes, checkPolicy, filterVaults } from './routes/access.ts';
import { adminRoutes, checkNotFrozen } from './routes/admin.ts';
import { edgeRoutes } from './routes/edge.ts';
import { listenerRoutes } from './routes/listeners.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { explainRoute, repairRoutes } from './routes/repair.ts';
import { replicationRoutes } from './routes/replication.ts';
import { scanRoutes } from './routes/scan.ts';
import { storeRoutes } from './routes/store.ts';
import { topologyRoutes } from './routes/topology.ts';
import { workRoutes } from './routes/work.ts';

const rt = runtime('api');
const store = wireStoreApi(rt);
const continuous = wireContinuous(rt);
const edge = wireEdgeApi(rt);
// A delete in a vault with a continuous rule adds its task to the rule's standing job; a
// delete of a key staged at edge units removes its copies there.
store.deleter.events = everyBus(
  store.deleter.events,
  replicationBus(continuous),
  edgeBus(wireStaging(rt)),
);
const repair = { control: wireRebuildControl(rt), explain: wireExplain(rt) };
// One wiring of the topology system: its routes and the admin commands propose through it.
const topology = wireTopology(rt);
const commands = wireCommands(rt, topologyChanges(topology));
const freezeGate = new FreezeGate(commands.freezes, rt.clock);
const probes = deploymentProbes(store.config, rt.clients, store.unitS3);

const routes: Record<string, Route> = {
  'GET /health': async () => {
    const report = await checkHealth(store.config.stage, probes);
    return json(report.status === 'ok' ? 200 : 503, report);
  },
  ...storeRoutes(store, edge.reads),
  ...edgeRoutes(edge.admin),
  ...repairRoutes(repair),
  ...topologyRoutes(topology, commands),
  ...workRoutes(wireWork(rt)),
  ...listenerRoutes(wireListenerRegistry(rt)),
  ...scanRoutes(wireScanRules(rt)),
  ...accessRoutes(wireKeys(rt)),
  ...adminRoutes(commands),
  ...replicationRoutes(wireReplicationJobs(rt), continuous),
  ...openApiRoutes(store.poolSize),
};
const explain = explainRoute(repair);

let ready: Promise<void> | undefined;

export const handler = async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
  const route =
    event.routeKey === 'GET /vaults/{vault}/objects/{key+}' &&
    event.queryStringParameters?.explain !== undefined
      ? explain
      : routes[event.routeKey];
  try {
    // Who, then whether they may: before anything else, so a refusal says nothing of what exists.
    const caller = principalOf(event);
    if (!route) throw new RouteNotFoundError(event.routeKey);
    checkPolicy(event, caller);
    // Once per execution environment; a failure is retried by the next request.
    ready ??= ensureDefaultVault({ vaults: store.catalog, poolSize: store.poolSize }).catch(
      (err) => {
        ready = undefined;
        throw err;
      },
    );
    await ready;
    await checkNotFrozen(freezeGate, event);
    const result = await route(event);
    return event.routeKey === 'GET /vaults' ? filterVaults(result, caller) : result;
  } catch (err) {
    return toErrorResult(err, rt.log);
  }
};
