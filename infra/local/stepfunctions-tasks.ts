/**
 * What the Task states of a state machine run on the local cloud: a Lambda function of the
 * service, named by its ARN or through the `arn:aws:states:::lambda:invoke` integration, handed
 * to the ASL interpreter (aws-local-stepfunctions) as its local task handlers. Any other service
 * integration fails the task.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Definition = {
  StartAt: string;
  States: Record<string, Record<string, unknown>>;
} & Record<string, unknown>;

function lambdaName(resource: string): string | undefined {
  const m = /^arn:aws:lambda:[^:]+:[^:]+:function:([^:]+)(?::[^:]+)?$/.exec(resource);
  return m?.[1];
}

/** Every Task state of a definition, nested ones included, by state name. */
function taskStates(
  def: { States?: Record<string, Record<string, unknown>> },
  out = new Map<string, Record<string, unknown>>(),
) {
  for (const [name, state] of Object.entries(def.States ?? {})) {
    if (state.Type === 'Task') out.set(name, state);
    for (const branch of (state.Branches as Definition[] | undefined) ?? [])
      taskStates(branch, out);
    const inner = (state.ItemProcessor ?? state.Iterator) as Definition | undefined;
    if (inner) taskStates(inner, out);
  }
  return out;
}

/**
 * A handler per Task state of `definition`, by state name, each running its Lambda function
 * through `invoke` (a thrown error's `name` is the task's error).
 */
export function taskHandlers(
  definition: Definition,
  invoke: (functionName: string, payload: unknown) => Promise<unknown>,
): Record<string, (input: Json) => Promise<Json>> {
  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  for (const [name, state] of taskStates(definition)) {
    const resource = String(state.Resource);
    handlers[name] = async (taskInput) => {
      if (resource.startsWith('arn:aws:states:::lambda:invoke')) {
        const params = (taskInput ?? {}) as { FunctionName?: string; Payload?: unknown };
        const fn = lambdaName(String(params.FunctionName)) ?? String(params.FunctionName);
        const payload = await invoke(fn, params.Payload ?? {});
        return { ExecutedVersion: '$LATEST', Payload: payload as Json, StatusCode: 200 };
      }
      const fn = lambdaName(resource);
      if (!fn) {
        throw Object.assign(new Error(`the local cloud runs Lambda tasks only, not ${resource}`), {
          name: 'States.Runtime',
        });
      }
      return (await invoke(fn, taskInput)) as Json;
    };
  }
  return handlers;
}
