import { z } from 'zod';
import {
  BUILTIN_FLOWS,
  builtinFlow,
  completeFlowTask,
  createFlow,
  EventInput,
  enableBuiltinFlow,
  FlowInput,
  FlowUpdate,
  flowReport,
  flowVersions,
  getFlow,
  listFlows,
  listFlowTasks,
  recordEvent,
  setFlowEnabled,
  TaskDone,
  TaskQuery,
  updateFlow,
} from '../flows/index.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const FlowParams = z.object({ id: z.string().regex(/^[1-9]\d{0,14}$/, 'must be a flow id') });
export const BuiltinParams = z.object({
  key: z.string().regex(/^[a-z_]{1,40}$/, 'must be a built-in flow key (GET /api/flows/builtin)'),
});
export const TaskParams = z.object({ id: z.string().regex(/^[1-9]\d{0,14}$/, 'must be a task id') });
const flowId = (params: unknown) => Number(parseInput(FlowParams, params).id);

/**
 * Flows (step mail and automated follow-up): list, show (with versions), create, update (a new version
 * when the definition changes), switch on/off, the built-in flows, the report, and custom events.
 */
export const flowRoutes: RouteModule = (app, { database }) => {
  app.get('/api/flows', allow('reports:read'), async () => ({ flows: await listFlows(database) }));

  app.get('/api/flows/builtin', allow('reports:read'), async () => {
    const installed = new Map(
      (await listFlows(database)).filter((f) => f.builtin).map((f) => [f.builtin, f]),
    );
    return {
      builtin: BUILTIN_FLOWS.map((b) => ({
        key: b.key,
        name: b.name,
        description: b.description,
        flowId: installed.get(b.key)?.id ?? null,
        enabled: installed.get(b.key)?.enabled ?? false,
      })),
    };
  });

  app.post('/api/flows/builtin/:key/enable', allow('campaigns:send'), async (request) => {
    const { key } = parseInput(BuiltinParams, request.params);
    builtinFlow(key);
    const flow = await enableBuiltinFlow(database, key, actorOf(request));
    request.audit.target = `flow ${flow.id}`;
    return flow;
  });

  app.post('/api/flows', allow('campaigns:write'), async (request, reply) => {
    const flow = await createFlow(database, request.body, actorOf(request));
    request.audit.target = `flow ${flow.id}`;
    return reply.code(201).send(flow);
  });

  app.get('/api/flows/:id', allow('reports:read'), async (request) => {
    const id = flowId(request.params);
    return { ...(await getFlow(database, id)), versions: await flowVersions(database, id) };
  });

  app.patch('/api/flows/:id', allow('campaigns:write'), async (request) => {
    const flow = await updateFlow(database, flowId(request.params), request.body, actorOf(request));
    request.audit.target = `flow ${flow.id} version ${flow.currentVersion}`;
    return flow;
  });

  app.post('/api/flows/:id/enable', allow('campaigns:send'), async (request) => {
    const flow = await setFlowEnabled(database, flowId(request.params), true);
    request.audit.target = `flow ${flow.id}`;
    return flow;
  });

  app.post('/api/flows/:id/disable', allow('campaigns:write'), async (request) => {
    const flow = await setFlowEnabled(database, flowId(request.params), false);
    request.audit.target = `flow ${flow.id}`;
    return flow;
  });

  app.get('/api/flows/:id/report', allow('reports:read'), async (request) =>
    flowReport(database, flowId(request.params)),
  );

  app.get('/api/flow-tasks', allow('customers:read', { personalData: true }), async (request) => ({
    tasks: await listFlowTasks(database, actorOf(request), request.query),
  }));

  app.post('/api/flow-tasks/:id/done', allow('interactions:write'), async (request) => {
    const { id } = parseInput(TaskParams, request.params);
    const task = await completeFlowTask(database, actorOf(request), Number(id), request.body);
    request.audit.target = `customer ${task.customerId}`;
    return task;
  });

  app.post('/api/events', allow('customers:write'), async (request, reply) => {
    const event = await recordEvent(database, actorOf(request), request.body);
    request.audit.target = `customer ${event.customerId}`;
    return reply.code(201).send(event);
  });
};

const REFUSED = 'your role does not allow it';
const NOT_FOUND = 'no such flow';

export const flowRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/flows',
    tag: 'flows',
    summary: 'The flows with their current version’s definition and whether each is switched on.',
    responses: { 200: '{flows}', 403: REFUSED },
  },
  {
    method: 'GET',
    path: '/api/flows/builtin',
    tag: 'flows',
    summary:
      'The built-in flows ready to switch on (welcome, repeat_cycle, win_back, loyal_welcome, post_complaint).',
    responses: { 200: '{builtin: [{key, name, description, flowId, enabled}]}', 403: REFUSED },
  },
  {
    method: 'POST',
    path: '/api/flows/builtin/:key/enable',
    tag: 'flows',
    summary: 'Installs (on first use) and switches on a built-in flow.',
    params: BuiltinParams,
    responses: { 200: 'the flow', 403: REFUSED, 404: 'no such built-in flow' },
  },
  {
    method: 'POST',
    path: '/api/flows',
    tag: 'flows',
    summary: 'Create a flow (switched off): trigger, steps, goal, holdout share (docs/flows.md).',
    body: FlowInput,
    responses: {
      201: 'the flow',
      400: 'invalid_request / invalid_rules (the field says which)',
      403: REFUSED,
      409: 'name taken',
    },
  },
  {
    method: 'GET',
    path: '/api/flows/:id',
    tag: 'flows',
    summary: 'A flow with its versions (who made each, how many entered it, how many are still in it).',
    params: FlowParams,
    responses: { 200: 'the flow and {versions}', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'PATCH',
    path: '/api/flows/:id',
    tag: 'flows',
    summary:
      'Rename, redescribe, or change the definition: a changed definition becomes a new version for new entrants; enrolled customers finish on theirs.',
    params: FlowParams,
    body: FlowUpdate,
    responses: { 200: 'the flow', 400: 'invalid_request', 403: REFUSED, 404: NOT_FOUND, 409: 'name taken' },
  },
  {
    method: 'POST',
    path: '/api/flows/:id/enable',
    tag: 'flows',
    summary: 'Switch a flow on: its trigger is scanned from now on (it does not reach back into history).',
    params: FlowParams,
    responses: { 200: 'the flow', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'POST',
    path: '/api/flows/:id/disable',
    tag: 'flows',
    summary: 'Switch a flow off: nobody new enters; customers already in it finish their path.',
    params: FlowParams,
    responses: { 200: 'the flow', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'GET',
    path: '/api/flows/:id/report',
    tag: 'flows',
    summary:
      'Per version and step: executed, waiting, sent, suppressed (with the policy’s reasons), failed; entered, goal reached, exited; goal conversion vs the holdout (Wilson, Newcombe, p-value).',
    params: FlowParams,
    responses: { 200: 'the report', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'GET',
    path: '/api/flow-tasks',
    tag: 'flows',
    summary:
      'Staff tasks created by flows for the caller’s stores’ customers, due first (purpose follow-up).',
    query: TaskQuery,
    responses: { 200: '{tasks}', 400: 'invalid_request', 403: REFUSED },
  },
  {
    method: 'POST',
    path: '/api/flow-tasks/:id/done',
    tag: 'flows',
    summary: 'Mark a flow task done with its outcome (what the customer said).',
    params: TaskParams,
    body: TaskDone,
    responses: {
      200: 'the task',
      400: 'invalid_request',
      403: REFUSED,
      404: 'no such task',
      409: 'already done or cancelled',
    },
  },
  {
    method: 'POST',
    path: '/api/events',
    tag: 'flows',
    summary:
      'A custom event for a customer; flows whose trigger is {type: "event", name} pick it up at their next scan.',
    body: EventInput,
    responses: {
      201: '{id, customerId, name, occurredAt}',
      400: 'invalid_request',
      403: 'your role does not allow it, or the customer is not of your stores',
      404: 'no such customer',
    },
  },
];
