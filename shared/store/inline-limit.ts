/**
 * Bodies a plain PUT or a staged part takes, and bytes a GET returns, per API call. Lambda's
 * request and response payloads are 6 MB, and binary travels base64 (4/3 larger): 4 MiB of
 * bytes fits. Larger objects go through staged uploads and ranged GETs. A file of its own, with
 * no imports, so the CLI reads it without loading the domain.
 */
export const INLINE_LIMIT = 4 * 1024 * 1024;
