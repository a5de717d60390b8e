/**
 * The HTTP API's Lambda request authorizer (payload 2.0, simple responses): verifies the
 * request's SigV4 signature and its key's state, and hands the route the caller
 * (`context.principal`, a Principal's JSON). A request that fails is still let through, with
 * `context.unauthenticated` instead: an HTTP API authorizer can only answer a bare 403
 * `{"message":"Forbidden"}`, and the API promises a 401 with its own error body, which the api
 * function then gives (principalOf). It never reaches a route's code.
 */
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { authenticate } from '../shared/access/index.ts';
import { wireAuthenticate } from '../shared/aws/access/wire.ts';
import { runtime } from '../shared/aws/runtime.ts';
import { UnauthenticatedError } from '../shared/errors.ts';

const rt = runtime('access');
const deps = wireAuthenticate(rt);

type Context = { principal: string } | { unauthenticated: string };

export const handler = async (
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<Context>> => {
  try {
    const principal = await authenticate(deps, {
      method: event.requestContext.http.method,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      headers: event.headers ?? {},
    });
    return { isAuthorized: true, context: { principal: JSON.stringify(principal) } };
  } catch (err) {
    if (!(err instanceof UnauthenticatedError)) throw err;
    rt.log.info('unauthenticated request', { code: err.code, path: event.rawPath });
    return {
      isAuthorized: true,
      context: { unauthenticated: JSON.stringify({ code: err.code, message: err.message }) },
    };
  }
};
