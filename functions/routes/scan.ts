/**
 * The scanner's admin routes (seed 004): the uploaded signature rules. `PUT /admin/scan-rules`
 * takes the rules text (ClamAV `.hdb` and `.ndb` lines) as the body and answers what it
 * counted and skipped; `GET /admin/scan-rules` shows the text in force. Admin keys only.
 */
import { MAX_RULES_BYTES, putScanRules, showScanRules } from '../../shared/access/index.ts';
import type { wireScanRules } from '../../shared/aws/access/wire.ts';
import { binaryBody, json, principalOf, type Route } from '../http.ts';

export type ScanRulesApi = ReturnType<typeof wireScanRules>;

export function scanRoutes(s: ScanRulesApi): Record<string, Route> {
  return {
    'PUT /admin/scan-rules': async (event) => {
      const text = binaryBody(
        event,
        MAX_RULES_BYTES,
        (size) => `scan rules are ${size} bytes; at most ${MAX_RULES_BYTES} are kept`,
      ).toString('utf8');
      return json(200, await putScanRules(s, principalOf(event), text));
    },
    'GET /admin/scan-rules': async (event) => json(200, await showScanRules(s, principalOf(event))),
  };
}
