import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseService, ServiceConfigError } from '../../../infra/local/service.ts';
import { FIXTURE_SERVICE } from '../../helpers/paths.ts';

const base = (functions: Record<string, unknown>) => ({
  service: 'svc',
  provider: { name: 'aws', stage: 'test', region: 'eu-west-1', environment: { A: '1' } },
  functions,
});

describe('parseService', () => {
  test('reads functions, their event sources and merged environment', () => {
    // Act
    const svc = parseService(
      base({
        echo: {
          handler: 'handlers/echo.handler',
          name: 'svc-test-echo',
          timeout: 3,
          environment: { B: '2' },
          events: [
            { httpApi: 'get /a/{b}' },
            {
              sqs: {
                arn: 'arn:aws:sqs:eu-west-1:0:q',
                batchSize: 7,
                functionResponseType: 'ReportBatchItemFailures',
              },
            },
            { schedule: { rate: ['rate(5 minutes)'], input: { x: 1 } } },
          ],
        },
      }),
      FIXTURE_SERVICE,
    );

    // Assess
    const fn = svc.functions[0];
    assert.equal(svc.region, 'eu-west-1');
    assert.equal(fn?.name, 'svc-test-echo');
    assert.ok(fn?.modulePath.endsWith('handlers/echo.ts'));
    assert.deepEqual(fn?.environment, { A: '1', B: '2' });
    assert.deepEqual(fn?.events, [
      { type: 'httpApi', method: 'GET', path: '/a/{b}' },
      {
        type: 'sqs',
        arn: 'arn:aws:sqs:eu-west-1:0:q',
        batchSize: 7,
        maximumBatchingWindow: 0,
        reportBatchItemFailures: true,
        enabled: true,
      },
      { type: 'schedule', expression: 'rate(5 minutes)', input: { x: 1 }, enabled: true },
    ]);
  });

  test('reads the HTTP API request authorizers and the one each route names', () => {
    // Act
    const svc = parseService(
      {
        ...base({
          echo: {
            handler: 'handlers/echo.handler',
            events: [{ httpApi: { method: 'get', path: '/a', authorizer: { name: 'sig' } } }],
          },
        }),
        provider: {
          name: 'aws',
          httpApi: {
            authorizers: {
              sig: { type: 'request', functionName: 'echo', enableSimpleResponses: true },
            },
          },
        },
      },
      FIXTURE_SERVICE,
    );

    // Assess
    assert.deepEqual(svc.authorizers, [
      { name: 'sig', functionKey: 'echo', enableSimpleResponses: true },
    ]);
    assert.deepEqual(svc.functions[0]?.events, [
      { type: 'httpApi', method: 'GET', path: '/a', authorizer: 'sig' },
    ]);
    assert.throws(
      () =>
        parseService(
          { ...base({}), provider: { httpApi: { authorizers: { jwt: { type: 'jwt' } } } } },
          FIXTURE_SERVICE,
        ),
      (err: Error) =>
        err instanceof ServiceConfigError && err.field === 'provider.httpApi.authorizers.jwt',
    );
  });

  test('an unknown event type is refused, naming the function and the field', () => {
    assert.throws(
      () =>
        parseService(
          base({ echo: { handler: 'handlers/echo.handler', events: [{ sqsx: {} }] } }),
          FIXTURE_SERVICE,
        ),
      (err: Error) =>
        err instanceof ServiceConfigError &&
        err.field === 'functions.echo.events[0].sqsx' &&
        /unknown or unsupported event type "sqsx"/.test(err.message),
    );
  });

  test('a missing handler file is refused, naming the function and the field', () => {
    assert.throws(
      () => parseService(base({ ghost: { handler: 'handlers/ghost.handler' } }), FIXTURE_SERVICE),
      (err: Error) =>
        err instanceof ServiceConfigError &&
        err.field === 'functions.ghost.handler' &&
        err.message.includes('no file for "handlers/ghost.handler"'),
    );
  });

  test('malformed handlers, methods, batch sizes and timeouts are refused with the rule', () => {
    const cases: Array<[unknown, string]> = [
      [{ handler: 'nodot' }, 'functions.f.handler'],
      [
        { handler: 'handlers/echo.handler', events: [{ httpApi: 'FETCH /x' }] },
        'functions.f.events[0].httpApi.method',
      ],
      [
        { handler: 'handlers/echo.handler', events: [{ httpApi: 'GET x' }] },
        'functions.f.events[0].httpApi.path',
      ],
      [
        { handler: 'handlers/echo.handler', events: [{ sqs: { arn: 'a', batchSize: 0 } }] },
        'functions.f.events[0].sqs.batchSize',
      ],
      [{ handler: 'handlers/echo.handler', timeout: 901 }, 'functions.f.timeout'],
      [{ handler: 'handlers/echo.handler', tags: ['x'] }, 'functions.f.tags'],
      [
        { handler: 'handlers/echo.handler', tags: { 'dsn:priority': 'low' } },
        'functions.f.tags.dsn:priority',
      ],
    ];
    for (const [spec, field] of cases) {
      assert.throws(
        () => parseService(base({ f: spec }), FIXTURE_SERVICE),
        (err: Error) => err instanceof ServiceConfigError && err.field === field,
        field,
      );
    }
  });

  test('a function tagged dsn:priority background is background work; untagged or other tags are not', () => {
    // Act
    const svc = parseService(
      base({
        sweep: { handler: 'handlers/echo.handler', tags: { 'dsn:priority': 'background' } },
        tagged: { handler: 'handlers/echo.handler', tags: { team: 'storage' } },
        plain: { handler: 'handlers/echo.handler' },
      }),
      FIXTURE_SERVICE,
    );

    // Assess
    assert.deepEqual(
      svc.functions.map((f) => [f.key, f.background]),
      [
        ['sweep', true],
        ['tagged', false],
        ['plain', false],
      ],
    );
  });
});
