import { z } from 'zod';
import {
  acknowledgeEscalation,
  CalendarInput,
  CalendarPatch,
  createCalendar,
  createPolicy,
  escalateDueBreaches,
  getCalendar,
  getPolicy,
  listCalendars,
  listEscalations,
  listPolicies,
  PolicyInput,
  PolicyPatch,
  updateCalendar,
  updatePolicy,
} from '../service/index.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow, signedIn } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const SlaIdParams = z.object({ id: z.string().regex(/^\d{1,15}$/, 'must be an id') });
export const EscalationQuery = z.strictObject({
  mine: z.enum(['true', 'false']).optional().describe('true: only those notifying me'),
  all: z.enum(['true', 'false']).optional().describe('true: acknowledged ones too'),
  limit: z.coerce.number().int().min(1).max(500).optional().describe('default 500'),
});

const idOf = (params: unknown): number => Number(parseInput(SlaIdParams, params).id);

/**
 * SLA policies, business-hours calendars and escalations (docs/service-desk.md). Anyone signed in may read
 * the calendars and policies (they hold no personal data: agents need the targets, marketers the hours);
 * changing them needs service:manage. The escalation list names customers' tickets: interactions:write.
 */
export const slaRoutes: RouteModule = (app, { database }) => {
  app.get('/api/sla/calendars', signedIn(), async () => ({ calendars: await listCalendars(database) }));

  app.get('/api/sla/calendars/:id', signedIn(), async (request) =>
    getCalendar(database, idOf(request.params)),
  );

  app.post('/api/sla/calendars', allow('service:manage'), async (request, reply) => {
    const calendar = await createCalendar(database, parseInput(CalendarInput, request.body));
    request.audit.target = `business calendar ${calendar.id}`;
    return reply.code(201).send(calendar);
  });

  app.patch('/api/sla/calendars/:id', allow('service:manage'), async (request) => {
    const id = idOf(request.params);
    const patch = parseInput(CalendarPatch, request.body);
    request.audit.target = `business calendar ${id}`;
    request.audit.detail = { fields: Object.keys(patch) };
    return updateCalendar(database, id, patch);
  });

  app.get('/api/sla/policies', signedIn(), async () => ({ policies: await listPolicies(database) }));

  app.get('/api/sla/policies/:id', signedIn(), async (request) => getPolicy(database, idOf(request.params)));

  app.post('/api/sla/policies', allow('service:manage'), async (request, reply) => {
    const policy = await createPolicy(database, parseInput(PolicyInput, request.body));
    request.audit.target = `sla policy ${policy.id}`;
    return reply.code(201).send(policy);
  });

  app.patch('/api/sla/policies/:id', allow('service:manage'), async (request) => {
    const id = idOf(request.params);
    const patch = parseInput(PolicyPatch, request.body);
    request.audit.target = `sla policy ${id}`;
    request.audit.detail = { fields: Object.keys(patch) };
    return updatePolicy(database, id, patch);
  });

  app.get('/api/sla/escalations', allow('interactions:write', { personalData: true }), async (request) => {
    const query = parseInput(EscalationQuery, request.query);
    const actor = actorOf(request);
    return {
      escalations: await listEscalations(database, actor, {
        open: query.all !== 'true',
        notifiedStaffId: query.mine === 'true' ? (actor.staffId ?? -1) : undefined,
        limit: query.limit,
      }),
    };
  });

  app.post('/api/sla/escalations/run', allow('service:manage'), async (request) => {
    // The new escalations may be of any store; the caller sees them in the (store-scoped) list.
    const escalations = await escalateDueBreaches(database);
    request.audit.detail = { escalated: escalations.length };
    return { escalated: escalations.length };
  });

  app.post('/api/sla/escalations/:id/acknowledge', allow('service:manage'), async (request) => {
    const escalation = await acknowledgeEscalation(database, actorOf(request), idOf(request.params));
    request.audit.customerId = escalation.customerId;
    request.audit.target = `sla escalation ${escalation.id}`;
    return escalation;
  });
};

const REFUSED = 'your role does not allow it';
const CALENDAR_INVALID =
  "invalid_request / invalid_calendar: the message and field name the fault, e.g. hours.1[0][1]: '25:00' is not a time 00:00–24:00";
const POLICY_INVALID = 'invalid_request: the message and field name the fault, e.g. calendarId or storeIds';
const CALENDAR_SHAPE =
  "{id, name, timezone, hours: {'1': [['09:00','18:00']], …}, holidays: ['YYYY-MM-DD', …]}";
const POLICY_SHAPE =
  '{id, name, calendarId, kinds, priorities, tiers, storeIds (null = any), precedence, firstResponseMinutes, nextResponseMinutes, resolutionMinutes, nearBreachShare, nearBreachMinutes, active}';
const ESCALATION_SHAPE =
  '{id, customerId, interactionId, clock (first_response | next_response | resolution), clockStartedAt, breachedAt, policyId, storeId, assigneeStaffId, notifiedStaffId, notifiedStaffName, notifiedAt, acknowledgedAt, acknowledgedByStaffId, subject, kind, priority}';

export const slaRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/sla/calendars',
    tag: 'sla',
    summary: 'Business-hours calendars: opening hours per weekday in a time zone, and holidays.',
    responses: { 200: `{calendars: [${CALENDAR_SHAPE}]}` },
  },
  {
    method: 'GET',
    path: '/api/sla/calendars/:id',
    tag: 'sla',
    summary: 'One business-hours calendar.',
    params: SlaIdParams,
    responses: { 200: CALENDAR_SHAPE, 404: 'calendar_not_found' },
  },
  {
    method: 'POST',
    path: '/api/sla/calendars',
    tag: 'sla',
    summary: 'Create a business-hours calendar.',
    description:
      "Hours are local times; an end before the start runs overnight into the next day and belongs to the day it starts; '24:00' ends a day. Holidays have no hours.",
    body: CalendarInput,
    responses: { 201: CALENDAR_SHAPE, 400: CALENDAR_INVALID, 403: REFUSED, 409: 'name_taken' },
  },
  {
    method: 'PATCH',
    path: '/api/sla/calendars/:id',
    tag: 'sla',
    summary: 'Change a calendar (name, time zone, hours, holidays); clocks of open tickets follow at once.',
    params: SlaIdParams,
    body: CalendarPatch,
    responses: {
      200: CALENDAR_SHAPE,
      400: CALENDAR_INVALID,
      403: REFUSED,
      404: 'calendar_not_found',
      409: 'name_taken',
    },
  },
  {
    method: 'GET',
    path: '/api/sla/policies',
    tag: 'sla',
    summary: 'SLA policies in the order they are tried: precedence, then the more specific, then id.',
    description:
      'A ticket gets the first active policy whose conditions (kinds, priorities, tiers, stores) all match.',
    responses: { 200: `{policies: [${POLICY_SHAPE}]}` },
  },
  {
    method: 'GET',
    path: '/api/sla/policies/:id',
    tag: 'sla',
    summary: 'One SLA policy.',
    params: SlaIdParams,
    responses: { 200: POLICY_SHAPE, 404: 'policy_not_found' },
  },
  {
    method: 'POST',
    path: '/api/sla/policies',
    tag: 'sla',
    summary: 'Create an SLA policy: which tickets, which calendar, the targets in business minutes.',
    body: PolicyInput,
    responses: { 201: POLICY_SHAPE, 400: POLICY_INVALID, 403: REFUSED, 409: 'name_taken' },
  },
  {
    method: 'PATCH',
    path: '/api/sla/policies/:id',
    tag: 'sla',
    summary: 'Change an SLA policy (active: false retires it).',
    params: SlaIdParams,
    body: PolicyPatch,
    responses: {
      200: POLICY_SHAPE,
      400: POLICY_INVALID,
      403: REFUSED,
      404: 'policy_not_found',
      409: 'name_taken',
    },
  },
  {
    method: 'GET',
    path: '/api/sla/escalations',
    tag: 'sla',
    summary: 'The escalation list: breached SLA clocks not yet acknowledged, oldest breach first.',
    description:
      "Only tickets of your stores' customers. mine=true: those notifying you; all=true: acknowledged too.",
    query: EscalationQuery,
    responses: { 200: `{escalations: [${ESCALATION_SHAPE}]}`, 403: REFUSED },
  },
  {
    method: 'POST',
    path: '/api/sla/escalations/run',
    tag: 'sla',
    summary:
      'Escalate now: record every newly breached clock of the unfinished tickets (a scheduler calls it).',
    description:
      'Each clock (each next-response cycle) is escalated once; running it again adds nothing new.',
    responses: { 200: '{escalated}: how many new escalations were recorded', 403: REFUSED },
  },
  {
    method: 'POST',
    path: '/api/sla/escalations/:id/acknowledge',
    tag: 'sla',
    summary: 'Acknowledge an escalation (it leaves the open list); a second time keeps the first.',
    params: SlaIdParams,
    responses: { 200: ESCALATION_SHAPE, 403: REFUSED, 404: 'escalation_not_found' },
  },
];
