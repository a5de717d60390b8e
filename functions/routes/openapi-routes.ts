/**
 * Every route of the API with the zod schemas its handler validates with: path and query
 * parameters, the request body, and each answer. The OpenAPI document (openapi.ts) is drawn from
 * this table, and the tests check it names exactly serverless.yml's routes.
 */
import { z } from 'zod';
import { createKeySchema, createSessionSchema } from '../../shared/access/index.ts';
import { groupNameSchema, groupRequestSchema } from '../../shared/edge/index.ts';
import {
  listenerRequestSchema,
  listenPathSchema,
  renewalSchema,
} from '../../shared/listeners/index.ts';
import { explainPageSchema, rebuildRequestSchema } from '../../shared/repair/index.ts';
import {
  jobIdSchema,
  jobListQuerySchema,
  jobRequestSchema,
  migrateSchema,
  replicationRuleSchema,
  taskQuerySchema,
} from '../../shared/replication/index.ts';
import {
  createVaultRequestSchema,
  listingQuerySchema,
  objectKeySchema,
  vaultNameSchema,
} from '../../shared/store/index.ts';
import {
  COMMAND_NAMES,
  commandsQuerySchema,
  topologyChangeSchema,
} from '../../shared/topology/index.ts';
import { addWorkSchema, listWorkSchema } from '../../shared/work/index.ts';
import { planRequestSchema } from './edge.ts';
import { listenerIdSchema } from './listeners.ts';
import type { Operation } from './openapi-operation.ts';
import {
  commandRecordSchema,
  cursor,
  edgeGroupSchema,
  edgeGroupStateSchema,
  edgeOverviewSchema,
  explanationSchema,
  healthSchema,
  issuedKeySchema,
  keySummarySchema,
  lastPlanRunSchema,
  listenerSchema,
  listenerWithStatsSchema,
  listingSchema,
  planRequestedSchema,
  rebuildJobSchema,
  replicationRuleAnswerSchema,
  replicationSchema,
  revisionSchema,
  roleSchema,
  rulesSummarySchema,
  sessionSchema,
  side,
  topologyJobSchema,
  topologyViewSchema,
  vaultSchema,
  workExplanationSchema,
  workItemSchema,
  writePending,
  written,
} from './openapi-responses.ts';
import { transferRoutes } from './openapi-transfers.ts';
import { revisionIdSchema } from './store.ts';

const vault = { vault: vaultNameSchema };
const objectPath = { vault: vaultNameSchema, key: objectKeySchema };
const anyId = z.string().min(1);

/**
 * Every route of the API (keys as serverless.yml's `METHOD /path`), with the schemas the
 * handlers use. `createVault` is sized by the pool, so the table is built for one.
 */
export function routeTable(poolSize: number): Record<string, Operation> {
  return {
    'GET /health': {
      summary: 'Reachability of the deployment: tables, queues, units',
      responses: {
        200: { description: 'everything answered', schema: healthSchema },
        503: { description: 'a probe failed', schema: healthSchema },
      },
    },
    'GET /console': {
      summary: 'The web console (index.html); unsigned, like its assets',
      public: true,
      responses: { 200: { description: 'the page', media: 'text/html' } },
    },
    'GET /console/{path+}': {
      summary: "One of the web console's built files",
      public: true,
      path: { path: z.string().min(1) },
      responses: {
        200: {
          description: 'the file (HTML, JavaScript, CSS ...)',
          media: 'application/octet-stream',
        },
        404: { description: 'no such file' },
      },
    },
    'GET /openapi.json': {
      summary: 'This document',
      responses: {
        200: {
          description: 'the OpenAPI 3.1 document',
          schema: z.looseObject({ openapi: z.string() }),
        },
      },
    },
    'POST /vaults': {
      summary: 'Create a vault',
      body: { schema: createVaultRequestSchema(poolSize) },
      responses: { 201: { description: 'created', schema: vaultSchema } },
    },
    'GET /vaults': {
      summary: 'The vaults the caller may list',
      responses: {
        200: { description: 'vaults', schema: z.strictObject({ vaults: z.array(vaultSchema) }) },
      },
    },
    'GET /vaults/{vault}': {
      summary: 'A vault',
      path: vault,
      responses: { 200: { description: 'the vault', schema: vaultSchema } },
    },
    'PUT /vaults/{vault}/objects/{key+}': {
      summary: 'Write an object (up to the inline limit; larger ones use a staged upload)',
      path: objectPath,
      body: { bytes: 'application/octet-stream' },
      responses: {
        201: { description: 'committed', schema: written },
        202: {
          description: 'dispersed, commit not yet seen: poll the revision',
          schema: writePending,
        },
      },
    },
    'GET /vaults/{vault}/objects/{key+}': {
      summary: 'Read an object (Range supported), or with `?explain` its slice map',
      path: objectPath,
      query: explainPageSchema.extend({ explain: z.string().optional() }),
      responses: {
        200: {
          description: 'the bytes, or with `?explain` the explanation',
          bytes: true,
          schema: explanationSchema,
        },
        206: { description: 'the range asked for', bytes: true },
        304: { description: 'If-None-Match matched' },
        307: { description: 'larger than one response: follow Location to the reader' },
      },
    },
    'HEAD /vaults/{vault}/objects/{key+}': {
      summary: "An object's headers; content-length is its size",
      path: objectPath,
      responses: { 200: { description: 'exists' }, 404: { description: 'no such object' } },
    },
    'DELETE /vaults/{vault}/objects/{key+}': {
      summary: 'Delete an object',
      path: objectPath,
      responses: { 204: { description: 'deleted' } },
    },
    'GET /vaults/{vault}/objects': {
      summary: "List a vault's objects",
      path: vault,
      query: listingQuerySchema,
      responses: { 200: { description: 'a page', schema: listingSchema } },
    },
    'GET /vaults/{vault}/revisions/{revision}': {
      summary: 'The state of a write',
      path: { ...vault, revision: revisionIdSchema },
      responses: { 200: { description: 'the revision', schema: revisionSchema } },
    },
    'POST /vaults/{vault}/rebuild': {
      summary: "Start the vault's rebuild",
      path: vault,
      body: { schema: rebuildRequestSchema, required: false },
      responses: { 202: { description: 'started', schema: rebuildJobSchema } },
    },
    'GET /vaults/{vault}/rebuild': {
      summary: "The vault's rebuild",
      path: vault,
      responses: { 200: { description: 'the job', schema: rebuildJobSchema } },
    },
    'POST /vaults/{vault}/topology': {
      summary: "Propose a change of the vault's topology (replace, drain or re-stripe)",
      path: vault,
      body: { schema: topologyChangeSchema },
      responses: {
        202: {
          description: 'proposed',
          schema: z.strictObject({ proposal: z.string(), job: z.string().optional() }),
        },
      },
    },
    'GET /vaults/{vault}/topology': {
      summary: "The vault's current and past topologies, with their votes",
      path: vault,
      responses: { 200: { description: 'the topologies', schema: topologyViewSchema } },
    },
    'GET /vaults/{vault}/topology/job': {
      summary: "The vault's latest topology job (unit replacement or re-stripe)",
      path: vault,
      responses: { 200: { description: 'the job', schema: topologyJobSchema } },
    },
    ...transferRoutes,
    'POST /vaults/{vault}/work': {
      summary: 'Add a work item',
      path: vault,
      body: { schema: addWorkSchema },
      responses: { 201: { description: 'added', schema: workItemSchema } },
    },
    'GET /vaults/{vault}/work': {
      summary: "The vault's work items",
      path: vault,
      query: listWorkSchema,
      responses: {
        200: {
          description: 'a page',
          schema: z.strictObject({ items: z.array(workItemSchema), cursor: z.string().nullable() }),
        },
      },
    },
    'GET /vaults/{vault}/work/{id}': {
      summary: 'A work item, or with `?explain` its function slices',
      path: { ...vault, id: anyId },
      query: z.strictObject({ explain: z.string().optional() }),
      responses: {
        200: { description: 'the item', schema: z.union([workItemSchema, workExplanationSchema]) },
      },
    },
    'DELETE /vaults/{vault}/work/{id}': {
      summary: 'Cancel a work item',
      path: { ...vault, id: anyId },
      responses: { 204: { description: 'cancelled' } },
    },
    'POST /vaults/{vault}/listeners': {
      summary: 'Add a listener',
      path: vault,
      body: { schema: listenerRequestSchema },
      responses: { 201: { description: 'added', schema: listenerSchema } },
    },
    'GET /vaults/{vault}/listeners': {
      summary: "The vault's listeners",
      path: vault,
      query: z.strictObject({ path: listenPathSchema.optional() }),
      responses: {
        200: {
          description: 'listeners',
          schema: z.strictObject({ listeners: z.array(listenerSchema) }),
        },
      },
    },
    'GET /vaults/{vault}/listeners/{id}': {
      summary: 'A listener with its delivery counts',
      path: { ...vault, id: listenerIdSchema },
      responses: { 200: { description: 'the listener', schema: listenerWithStatsSchema } },
    },
    'PATCH /vaults/{vault}/listeners/{id}': {
      summary: 'Renew a temporary listener',
      path: { ...vault, id: listenerIdSchema },
      body: { schema: renewalSchema },
      responses: { 200: { description: 'renewed', schema: listenerSchema } },
    },
    'DELETE /vaults/{vault}/listeners/{id}': {
      summary: 'Remove a listener',
      path: { ...vault, id: listenerIdSchema },
      responses: { 204: { description: 'removed' } },
    },
    'PUT /admin/scan-rules': {
      summary: 'Upload the scanner signature rules (ClamAV .hdb and .ndb lines)',
      body: { bytes: 'text/plain' },
      responses: {
        200: { description: 'what was counted and skipped', schema: rulesSummarySchema },
      },
    },
    'GET /admin/scan-rules': {
      summary: 'The scan rules in force',
      responses: {
        200: { description: 'the rules', schema: rulesSummarySchema.extend({ text: z.string() }) },
      },
    },
    'POST /admin/keys': {
      summary: 'Create an access key (its secret is shown once)',
      body: { schema: createKeySchema },
      responses: { 201: { description: 'created', schema: issuedKeySchema } },
    },
    'GET /admin/keys': {
      summary: 'The access keys',
      responses: {
        200: { description: 'keys', schema: z.strictObject({ keys: z.array(keySummarySchema) }) },
      },
    },
    'DELETE /admin/keys/{id}': {
      summary: 'Disable an access key',
      path: { id: anyId },
      responses: { 200: { description: 'disabled', schema: keySummarySchema } },
    },
    'POST /admin/keys/{id}/rotate': {
      summary: 'Rotate an access key',
      path: { id: anyId },
      responses: { 201: { description: 'the new key', schema: issuedKeySchema } },
    },
    'GET /admin/roles': {
      summary: 'The leased management roles: holders, fencing tokens and expiry',
      responses: {
        200: { description: 'roles', schema: z.strictObject({ roles: z.array(roleSchema) }) },
      },
    },
    'POST /admin/commands': {
      summary: 'Run an admin command (the one control path); recorded in the audit log',
      body: {
        schema: z.strictObject({
          command: z.enum(COMMAND_NAMES),
          args: z.record(z.string(), z.unknown()),
        }),
      },
      responses: { 201: { description: 'its audit record', schema: commandRecordSchema } },
    },
    'GET /admin/commands': {
      summary: 'The audit log of admin commands, newest first',
      query: commandsQuerySchema,
      responses: {
        200: {
          description: 'a page',
          schema: z.strictObject({
            commands: z.array(commandRecordSchema),
            cursor: z.string().optional(),
          }),
        },
      },
    },
    'GET /admin/commands/{id}': {
      summary: "An admin command's audit record",
      path: { id: anyId },
      responses: { 200: { description: 'the record', schema: commandRecordSchema } },
    },
    'POST /sessions': {
      summary: "Temporary credentials with the caller's policy",
      body: { schema: createSessionSchema, required: false },
      responses: { 201: { description: 'issued', schema: sessionSchema } },
    },
    'POST /replications': {
      summary: 'Start a replication job',
      body: { schema: jobRequestSchema.extend({ source: side, destination: side }) },
      responses: { 202: { description: 'started', schema: replicationSchema } },
    },
    'GET /replications': {
      summary: 'Replication jobs, newest first',
      query: jobListQuerySchema,
      responses: {
        200: {
          description: 'a page',
          schema: z.strictObject({ replications: z.array(replicationSchema), cursor }),
        },
      },
    },
    'GET /replications/{id}': {
      summary: 'A replication job',
      path: { id: jobIdSchema },
      responses: { 200: { description: 'the job', schema: replicationSchema } },
    },
    'GET /replications/{id}/tasks': {
      summary: "A page of the job's tasks",
      path: { id: jobIdSchema },
      query: taskQuerySchema,
      responses: {
        200: {
          description: 'a page',
          schema: z.strictObject({ tasks: z.array(z.looseObject({ id: z.string() })), cursor }),
        },
      },
    },
    'POST /replications/{id}/restart': {
      summary: 'Restart a job',
      path: { id: jobIdSchema },
      responses: { 202: { description: 'restarted', schema: replicationSchema } },
    },
    'POST /replications/{id}/cancel': {
      summary: 'Cancel a job',
      path: { id: jobIdSchema },
      responses: { 202: { description: 'cancelled', schema: replicationSchema } },
    },
    'POST /replications/{id}/tasks/{task}/migrate': {
      summary: 'Move a copy to another worker',
      path: { id: jobIdSchema, task: jobIdSchema },
      body: { schema: migrateSchema, required: false },
      responses: {
        202: {
          description: 'moving',
          schema: z.strictObject({ id: z.string(), from: z.int().nullable(), to: z.int() }),
        },
      },
    },
    'PUT /vaults/{vault}/replication': {
      summary: "Set the vault's continuous replication rule",
      path: vault,
      body: { schema: replicationRuleSchema.extend({ destination: side }) },
      responses: { 200: { description: 'set', schema: replicationRuleAnswerSchema } },
    },
    'GET /vaults/{vault}/replication': {
      summary: "The vault's replication rule",
      path: vault,
      responses: { 200: { description: 'the rule', schema: replicationRuleAnswerSchema } },
    },
    'DELETE /vaults/{vault}/replication': {
      summary: "Remove the vault's replication rule",
      path: vault,
      responses: { 204: { description: 'removed' } },
    },
    'GET /admin/edge': {
      summary: "The pool's edge units and the client groups",
      responses: { 200: { description: 'edge units and groups', schema: edgeOverviewSchema } },
    },
    'PUT /admin/edge/groups/{group}': {
      summary: 'Configure a client group: its edge units, byte budget, half life and schedule',
      path: { group: groupNameSchema },
      body: { schema: groupRequestSchema },
      responses: { 200: { description: 'the group', schema: edgeGroupSchema } },
    },
    'GET /admin/edge/groups/{group}': {
      summary: 'A client group, its staged objects with their scores, and the bytes used',
      path: { group: groupNameSchema },
      responses: { 200: { description: 'the group and its state', schema: edgeGroupStateSchema } },
    },
    'POST /admin/edge/plan': {
      summary: 'Run the edge planner now, for one group or every group',
      body: { schema: planRequestSchema, required: false },
      responses: { 202: { description: 'requested', schema: planRequestedSchema } },
    },
    'GET /admin/edge/plan': {
      summary: "The edge planner's last run",
      responses: { 200: { description: 'the last run, or null', schema: lastPlanRunSchema } },
    },
  };
}
