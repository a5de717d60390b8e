/**
 * The routes that move an object's bytes in and out beside the plain PUT and GET: staged (or
 * presigned) uploads, and the client-side paths, dispersals (uplink) and retrievals (downlink).
 * Spread into openapi-routes.ts's table, in its order.
 */
import { z } from 'zod';
import {
  completeDispersalSchema,
  createUploadSchema,
  dispersalListingQuerySchema,
  dispersalSegmentsSchema,
  openDispersalSchema,
  openRetrievalSchema,
  partParamSchema,
  retrievalDamageSchema,
  uploadIdSchema,
  vaultNameSchema,
} from '../../shared/store/index.ts';
import type { Operation } from './openapi-operation.ts';
import {
  cancelledDispersalSchema,
  dispersalListingSchema,
  dispersalSchema,
  dispersalStateSchema,
  retrievalSchema,
  sliceUrlsSchema,
  uploadSchema,
  writePending,
  written,
} from './openapi-responses.ts';
import { revisionIdSchema } from './store.ts';

const vault = { vault: vaultNameSchema };

export const transferRoutes: Record<string, Operation> = {
  'POST /vaults/{vault}/uploads': {
    summary: 'Open a staged (or presigned) upload',
    path: vault,
    body: { schema: createUploadSchema },
    responses: { 201: { description: 'opened', schema: uploadSchema } },
  },
  'PUT /vaults/{vault}/uploads/{upload}/parts/{part}': {
    summary: 'Stage one part',
    path: { ...vault, upload: uploadIdSchema, part: partParamSchema },
    body: { bytes: 'application/octet-stream' },
    responses: {
      200: { description: 'staged', schema: z.strictObject({ part: z.int(), size: z.int() }) },
    },
  },
  'POST /vaults/{vault}/uploads/{upload}/complete': {
    summary: 'Complete an upload: its parts are dispersed',
    path: { ...vault, upload: uploadIdSchema },
    responses: {
      202: { description: 'dispersing', schema: uploadSchema.extend({ poll: z.string() }) },
    },
  },
  'GET /vaults/{vault}/uploads/{upload}': {
    summary: 'An upload; one pending follows its revision (committed, failed, or dispersing again)',
    path: { ...vault, upload: uploadIdSchema },
    responses: { 200: { description: 'the upload', schema: uploadSchema } },
  },
  'DELETE /vaults/{vault}/uploads/{upload}': {
    summary: 'Abort an open upload: its staged parts go now; 409 once it was completed',
    path: { ...vault, upload: uploadIdSchema },
    responses: { 200: { description: 'aborted (state failed)', schema: uploadSchema } },
  },
  'POST /vaults/{vault}/dispersals': {
    summary: 'Open a client-side dispersal: a pending revision the client encodes itself',
    path: vault,
    body: { schema: openDispersalSchema },
    responses: { 201: { description: 'opened', schema: dispersalSchema } },
  },
  'POST /vaults/{vault}/dispersals/{revision}/urls': {
    summary:
      "Presigned PUT URLs of segments' slices, each scoped to its key and CRC-32, and creating it once",
    path: { ...vault, revision: revisionIdSchema },
    body: { schema: dispersalSegmentsSchema },
    responses: { 200: { description: 'the URLs', schema: sliceUrlsSchema } },
  },
  'POST /vaults/{vault}/dispersals/{revision}/segments': {
    summary: 'Multicast the claim-check message of segments whose slices are placed',
    path: { ...vault, revision: revisionIdSchema },
    body: { schema: dispersalSegmentsSchema },
    responses: {
      202: {
        description: 'announced',
        schema: z.strictObject({ announced: z.int() }),
      },
    },
  },
  'POST /vaults/{vault}/dispersals/{revision}/complete': {
    summary: 'Record the count, size and SHA-256, and wait for the commit as a PUT does',
    path: { ...vault, revision: revisionIdSchema },
    body: { schema: completeDispersalSchema },
    responses: {
      201: { description: 'committed', schema: written },
      202: {
        description: 'dispersed, commit not yet seen: poll the revision',
        schema: writePending,
      },
    },
  },
  'GET /vaults/{vault}/dispersals': {
    summary: "The caller's pending dispersals in the vault, oldest first (to resume or cancel one)",
    path: vault,
    query: dispersalListingQuerySchema,
    responses: { 200: { description: 'a page', schema: dispersalListingSchema } },
  },
  'GET /vaults/{vault}/dispersals/{revision}': {
    summary: 'A dispersal as it stands: its geometry, state and the segments done (to resume it)',
    path: { ...vault, revision: revisionIdSchema },
    responses: { 200: { description: 'the dispersal', schema: dispersalStateSchema } },
  },
  'DELETE /vaults/{vault}/dispersals/{revision}': {
    summary: 'Cancel a dispersal: its revision fails unless it had committed (409)',
    path: { ...vault, revision: revisionIdSchema },
    responses: { 200: { description: 'cancelled', schema: cancelledDispersalSchema } },
  },
  'POST /vaults/{vault}/retrievals': {
    summary: "A client's own read: the manifest and presigned GET URLs of a window of its slices",
    path: vault,
    body: { schema: openRetrievalSchema },
    responses: { 200: { description: 'the window', schema: retrievalSchema } },
  },
  'POST /vaults/{vault}/retrievals/damage': {
    summary: "Damage a client's read met, queued for the rebuilder",
    path: vault,
    body: { schema: retrievalDamageSchema },
    responses: {
      202: { description: 'queued', schema: z.strictObject({ recorded: z.int() }) },
    },
  },
};
