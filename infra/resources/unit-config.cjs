// The pool's definition as `custom.dsn` gives it (unitCount, units[i] overrides, browser
// origins), checked field by field before any CloudFormation is generated from it
// (units.cjs, topics.cjs), and the Lambda environment budget its unit lists must fit in.
// Plain CommonJS, as units.cjs.
'use strict';

const { readBrowserOrigins } = require('./browser-cors.cjs');

class UnitConfigError extends Error {
  constructor(field, rule) {
    super(`custom.dsn.${field}: ${rule}`);
    this.name = 'UnitConfigError';
  }
}

/** Checks `custom.dsn` and returns the unit count and per-unit overrides. */
function readConfig(dsn) {
  const config = dsn ?? {};
  const unitCount = config.unitCount ?? 8;
  if (!Number.isInteger(unitCount) || unitCount < 1 || unitCount > 256) {
    throw new UnitConfigError(
      'unitCount',
      `must be an integer from 1 to 256, got ${JSON.stringify(unitCount)}`,
    );
  }
  const units = config.units ?? [];
  if (!Array.isArray(units) || units.length > unitCount) {
    throw new UnitConfigError(
      'units',
      `must be a list of at most unitCount (${unitCount}) entries`,
    );
  }
  units.forEach((u, i) => {
    if (u === null || u === undefined) return;
    if (typeof u !== 'object' || Array.isArray(u))
      throw new UnitConfigError(`units[${i}]`, 'must be an object');
    for (const key of Object.keys(u)) {
      if (key !== 'bucket' && key !== 'region' && key !== 'edge') {
        throw new UnitConfigError(
          `units[${i}].${key}`,
          'is not a unit field (known: bucket, region, edge)',
        );
      }
    }
    if (u.edge !== undefined && typeof u.edge !== 'boolean') {
      throw new UnitConfigError(
        `units[${i}].edge`,
        `must be true or false, got ${JSON.stringify(u.edge)}`,
      );
    }
    if (
      u.bucket !== undefined &&
      (typeof u.bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(u.bucket))
    ) {
      throw new UnitConfigError(
        `units[${i}].bucket`,
        `must be an S3 bucket name, got ${JSON.stringify(u.bucket)}`,
      );
    }
    if (
      u.region !== undefined &&
      (typeof u.region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(u.region))
    ) {
      throw new UnitConfigError(
        `units[${i}].region`,
        `must be an AWS region name, got ${JSON.stringify(u.region)}`,
      );
    }
    if (u.region !== undefined && u.bucket === undefined) {
      throw new UnitConfigError(
        `units[${i}].region`,
        'needs bucket: CloudFormation creates buckets in the stack region only',
      );
    }
  });
  if (units.filter((u) => u?.edge === true).length >= unitCount) {
    throw new UnitConfigError('units', 'must leave at least one unit that is not an edge unit');
  }
  const browserOrigins = readBrowserOrigins(config.browserOrigins, UnitConfigError);
  return { unitCount, units, browserOrigins };
}

/** Pool indices of the edge units (`edge: true`): staging places for pre-positioned slices, never in a vault. */
function edgeUnits({ unitCount, units }) {
  return Array.from({ length: unitCount }, (_, i) => i).filter((i) => units[i]?.edge === true);
}

// Lambda caps a function's environment at 4 KB (the JSON of names and values). The unit lists
// grow with the pool and every function carries them; the api's other variables take about
// 3 KB at AWS's longest names (test/integration/package.test.ts measures every function's), so
// the lists may use what is left after a 3 KB reserve.
const LAMBDA_ENVIRONMENT_BYTES = 4096;
const OTHER_VARIABLES_RESERVE = 3072;
// The longest region name AWS gives.
const LONGEST_REGION = 'ap-southeast-1';

/**
 * Refuses a pool whose unit lists (DSN_UNIT_BUCKETS, DSN_UNIT_REGIONS) could not fit in a
 * Lambda environment, which CloudFormation would only report mid-deploy.
 */
function checkEnvironmentBudget({ unitCount, units }, stackName) {
  let bytes = '"DSN_UNIT_BUCKETS":"","DSN_UNIT_REGIONS":"",'.length;
  for (let i = 0; i < unitCount; i++) {
    const override = units[i];
    const bucket = override?.bucket ?? `${stackName}-unit-${i}-123456789012`;
    const region = override?.region ?? LONGEST_REGION;
    bytes += bucket.length + region.length + 2;
  }
  const budget = LAMBDA_ENVIRONMENT_BYTES - OTHER_VARIABLES_RESERVE;
  if (bytes > budget) {
    throw new UnitConfigError(
      'unitCount',
      `${unitCount} units need up to ${bytes} bytes of Lambda environment for the unit lists ` +
        `(stack ${stackName}), more than the ${budget} left of Lambda's 4 KB limit; use fewer units`,
    );
  }
  return bytes;
}

module.exports = {
  UnitConfigError,
  readConfig,
  edgeUnits,
  checkEnvironmentBudget,
  LONGEST_REGION,
};
