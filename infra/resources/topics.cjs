// Who may publish on each topic (serverless.yml reads this through
// `${file(infra/resources/topics.cjs):resources}`; CommonJS for the same reason as units.cjs).
// The roles below publish through their own IAM policies already; what a topic policy adds is
// the Deny, which keeps every other principal of the account (whatever its IAM policies say)
// from putting a message on a topic: a forged slice or status would otherwise be one Publish
// away for any of them.
'use strict';

const replication = require('./replication.cjs');
const { readConfig } = require('./unit-config.cjs');
const { roleArn, serviceAndStage } = require('./units.cjs');

/** The functions whose roles publish on each topic, and why. */
function publishers({ unitCount }, replicationWorkers = []) {
  const units = Array.from({ length: unitCount }, (_, i) => `unit${i}`);
  return {
    // The writer (the api for PUTs, the disperser for staged uploads, the worker for outputs,
    // the replication workers for copies into a vault) multicasts slices.
    NetworkTopic: ['api', 'disperser', 'worker', 'topology', ...replicationWorkers],
    // Units report statuses; the writer nudges the committer once a revision is written.
    StatusTopic: [...units, 'api', 'disperser', 'worker', 'topology', ...replicationWorkers],
    // object.committed (committer), object.deleted (api, replication workers), object.lost
    // (rebuilder).
    EventsTopic: ['committer', 'api', 'rebuilder', ...replicationWorkers],
  };
}

/**
 * One AWS::SNS::TopicPolicy per topic, denying sns:Publish (PublishBatch included) to any
 * principal but the roles of its publishers. The roles are named in a condition rather than as
 * principals of an Allow: IAM checks a principal when the policy is set, and a role created
 * moments earlier in the same deployment may not be visible to it yet.
 */
function topicPolicies(config, service, stage, replicationWorkers = []) {
  const resources = {};
  for (const [topic, functions] of Object.entries(publishers(config, replicationWorkers))) {
    resources[`${topic}Policy`] = {
      Type: 'AWS::SNS::TopicPolicy',
      // After the functions: a function still running on a role the policy does not name (a
      // role being replaced) would be refused its publishes until it moved to the new one.
      DependsOn: functions.map((fn) => `${fn[0].toUpperCase()}${fn.slice(1)}LambdaFunction`),
      Properties: {
        Topics: [{ Ref: topic }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'OnlyNamedPublishers',
              Effect: 'Deny',
              Principal: '*',
              Action: 'sns:Publish',
              Resource: { Ref: topic },
              Condition: {
                ArnNotEquals: {
                  'aws:PrincipalArn': functions.map((fn) => roleArn(service, stage, fn)),
                },
              },
            },
          ],
        },
      },
    };
  }
  return resources;
}

async function resolve(variables) {
  const dsn = await variables.resolveConfigurationProperty(['custom', 'dsn']);
  const config = readConfig(dsn);
  const { service, stage } = await serviceAndStage(variables);
  const workers = replication.workerFunctions(dsn);
  return { resources: { Resources: topicPolicies(config, service, stage, workers) } };
}

module.exports = resolve;
module.exports.publishers = publishers;
module.exports.topicPolicies = topicPolicies;
