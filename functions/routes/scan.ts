/**
 * The scanner's admin routes (seed 004): the uploaded signature rules. `PUT /admin/scan-rules`
 * takes the rules text (ClamAV `.hdb` and `.ndb` lines) as the body and answers what it
 * counted and skipped; `GET /admin/scan-rules` shows the text in force. Admin keys only.
 */
import { putScanRules, showScanRules } from '../../shared/access/index.ts';
import type { wireScanRules } from '../../shared/aws/access/wire.ts';
import { PayloadTooLargeError } from '../../shared/errors.ts';
import { json, principalOf, type Route } from '../http.ts';

export type ScanRulesApi = ReturnType<typeof wireScanRules>;

/** The request body as text; its size is checked again, in bytes, by the domain. */
function textBody(event: Parameters<Route>[0]): string {
  const body = event.body ?? '';
  // A base64 body is a third larger than its bytes: refuse an absurd one before decoding it.
  if (body.length > 1_000_000)
    throw new PayloadTooLargeError('scan rules are too large', 1_000_000);
  return event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}

export function scanRoutes(s: ScanRulesApi): Record<string, Route> {
  return {
    'PUT /admin/scan-rules': async (event) =>
      json(200, await putScanRules(s, principalOf(event), textBody(event))),
    'GET /admin/scan-rules': async (event) => json(200, await showScanRules(s, principalOf(event))),
  };
}
