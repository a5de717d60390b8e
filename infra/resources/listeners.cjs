// The delivery nodes of the listeners system (seed 002), generated from one definition like the
// storage units (serverless.yml reads it through `${file(infra/resources/listeners.cjs):...}`).
// Node i is: a FIFO queue (the message group is the event's key, so a key's events reach each
// listener in order), its FIFO dead-letter queue, the node function fed by the queue, and its
// role. `custom.dsn.listenerNodes` says how many (default 4).
'use strict';

const { lambdaTrust, logStatement, roleName, serviceAndStage } = require('./units.cjs');

const NODE_FUNCTION_TIMEOUT_SECONDS = 60;

class ListenerConfigError extends Error {
  constructor(field, rule) {
    super(`custom.dsn.${field}: ${rule}`);
    this.name = 'ListenerConfigError';
  }
}

/** Checks `custom.dsn.listenerNodes`. */
function readConfig(dsn) {
  const nodeCount = dsn?.listenerNodes ?? 4;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 64) {
    throw new ListenerConfigError(
      'listenerNodes',
      `must be an integer from 1 to 64, got ${JSON.stringify(nodeCount)}`,
    );
  }
  return { nodeCount };
}

const nodes = ({ nodeCount }) => Array.from({ length: nodeCount }, (_, i) => i);

function nodeResources(config, service, stage) {
  const resources = {};
  for (const i of nodes(config)) {
    resources[`ListenerNode${i}DeadLetterQueue`] = {
      Type: 'AWS::SQS::Queue',
      Properties: { FifoQueue: true, MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true },
    };
    resources[`ListenerNode${i}Queue`] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        FifoQueue: true,
        // Six times the node function's timeout, as Lambda recommends for SQS sources.
        VisibilityTimeout: 6 * NODE_FUNCTION_TIMEOUT_SECONDS,
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [`ListenerNode${i}DeadLetterQueue`, 'Arn'] },
          maxReceiveCount: 5,
        },
      },
    };
    resources[`ListenerNode${i}Role`] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: roleName(service, stage, `listenerNode${i}`),
        AssumeRolePolicyDocument: lambdaTrust(),
        Policies: [
          {
            PolicyName: `listener-node-${i}`,
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                logStatement(`${service}-${stage}-listenerNode${i}`),
                {
                  Effect: 'Allow',
                  Action: [
                    'sqs:ReceiveMessage',
                    'sqs:DeleteMessage',
                    'sqs:GetQueueAttributes',
                    'sqs:ChangeMessageVisibility',
                  ],
                  Resource: { 'Fn::GetAtt': [`ListenerNode${i}Queue`, 'Arn'] },
                },
                // Its initiator entries, the listeners' counts and dead letters.
                {
                  Effect: 'Allow',
                  Action: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
                  Resource: { 'Fn::GetAtt': ['ListenersTable', 'Arn'] },
                },
                // Leaving a participant entry it no longer serves.
                {
                  Effect: 'Allow',
                  Action: ['dynamodb:UpdateItem'],
                  Resource: { 'Fn::GetAtt': ['ParticipantsTable', 'Arn'] },
                },
                // Targets: users' queues and functions in the account, named by each listener.
                {
                  Effect: 'Allow',
                  Action: ['sqs:SendMessage'],
                  Resource: {
                    'Fn::Sub': 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:*',
                  },
                },
                {
                  Effect: 'Allow',
                  Action: ['lambda:InvokeFunction'],
                  Resource: {
                    'Fn::Sub':
                      'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*',
                  },
                },
              ],
            },
          },
        ],
      },
    };
  }
  return resources;
}

function nodeFunctions(config) {
  const functions = {};
  for (const i of nodes(config)) {
    functions[`listenerNode${i}`] = {
      handler: 'functions/listener-node.handler',
      description: `Listener delivery node ${i}: hands each event to the listeners it serves`,
      role: `ListenerNode${i}Role`,
      timeout: NODE_FUNCTION_TIMEOUT_SECONDS,
      memorySize: 256,
      environment: { DSN_LISTENER_NODE: String(i) },
      events: [
        {
          sqs: {
            arn: { 'Fn::GetAtt': [`ListenerNode${i}Queue`, 'Arn'] },
            batchSize: 10,
            functionResponseType: 'ReportBatchItemFailures',
          },
        },
      ],
    };
  }
  return functions;
}

async function resolve({ resolveConfigurationProperty, options }) {
  const config = readConfig(await resolveConfigurationProperty(['custom', 'dsn']));
  const { service, stage } = await serviceAndStage({ resolveConfigurationProperty, options });
  return {
    resources: { Resources: nodeResources(config, service, stage) },
    functions: nodeFunctions(config),
    /** For the functions that announce events (api, committer, rebuilder). */
    queueUrls: { 'Fn::Join': [',', nodes(config).map((i) => ({ Ref: `ListenerNode${i}Queue` }))] },
    queueArns: nodes(config).map((i) => ({ 'Fn::GetAtt': [`ListenerNode${i}Queue`, 'Arn'] })),
  };
}

module.exports = resolve;
module.exports.readConfig = readConfig;
module.exports.nodeResources = nodeResources;
module.exports.nodeFunctions = nodeFunctions;
module.exports.ListenerConfigError = ListenerConfigError;
