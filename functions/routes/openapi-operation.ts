/** What the API's route table (openapi-routes.ts) says of one route, for the OpenAPI document. */
import type { z } from 'zod';

/** One answer of a route: a JSON body with its schema, or none (`schema` absent). */
export interface Answer {
  description: string;
  schema?: z.ZodType;
  /** A body that is not JSON: the object's bytes. */
  bytes?: true;
  /** A body of this media type (the console's pages and assets). */
  media?: string;
}

export interface Operation {
  summary: string;
  /** Path parameters by name, as `pathParameters` holds them (`key` for `{key+}`). */
  path?: Record<string, z.ZodType>;
  /** The query string: one schema of the whole object, as the handler checks it. */
  query?: z.ZodType;
  /** A JSON body (`required: false` for the routes that take an empty one too). */
  body?:
    | { schema: z.ZodType; required?: boolean }
    | { bytes: 'application/octet-stream' | 'text/plain' };
  responses: Record<number, Answer>;
  /** Served without a signature (no authorizer): the console's static files. */
  public?: true;
}
