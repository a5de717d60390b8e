// Browser access to the stack's unit buckets (`custom.dsn.browserOrigins`): which origins may
// PUT and GET slices through the API's presigned URLs, and the bucket CORS rule that says so.
// The web console disperses and reads large files there itself. Plain CommonJS, as units.cjs.
'use strict';

/** The checked origins (`*` when none are given); throws `ConfigError('browserOrigins', rule)`. */
function readBrowserOrigins(value, ConfigError) {
  const browserOrigins = value ?? ['*'];
  if (
    !Array.isArray(browserOrigins) ||
    browserOrigins.some(
      (o) =>
        typeof o !== 'string' ||
        (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) ||
        o.split('*').length > 2,
    )
  ) {
    throw new ConfigError(
      'browserOrigins',
      `must be a list of origins (scheme://host[:port], one * at most, or "*"), got ${JSON.stringify(browserOrigins)}`,
    );
  }
  return browserOrigins;
}

/**
 * The CORS rule of a stack-created unit bucket: browsers at `origins` (the web console) may PUT
 * and GET slices through the presigned URLs the API hands out. The URL is the authority; CORS
 * only lets a page read S3's answer. None when `custom.dsn.browserOrigins` is empty.
 */
function browserCors(origins) {
  if (origins.length === 0) return {};
  return {
    CorsConfiguration: {
      CorsRules: [
        {
          Id: 'browser-slices',
          AllowedOrigins: origins,
          AllowedMethods: ['GET', 'PUT'],
          AllowedHeaders: ['x-amz-checksum-crc32', 'if-none-match'],
          ExposedHeaders: ['ETag'],
          MaxAge: 3600,
        },
      ],
    },
  };
}

module.exports = { browserCors, readBrowserOrigins };
