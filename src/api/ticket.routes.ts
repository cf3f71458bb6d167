import { z } from 'zod';
import type { Actor } from '../auth/index.ts';
import { requireCustomerInScope } from '../auth/index.ts';
import { createCustomer } from '../customers/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { CsatAnswer, csatFormHtml, csatLink, csatTicket, recordCsat } from '../service/csat.ts';
import { answerFollowUp, customerOfFollowUp, FollowUpAnswer, listFollowUps } from '../service/follow-up.ts';
import { receiveEmail } from '../service/inbound-mail.ts';
import {
  INTERACTION_CHANNELS,
  INTERACTION_KINDS,
  INTERACTION_STATUSES,
  TICKET_PRIORITIES,
} from '../service/interactions.ts';
import { responseTimeRetention, serviceMeasures } from '../service/measures.ts';
import {
  AssignInput,
  addInternalNote,
  assignTicket,
  breachingTickets,
  createTeam,
  getTicketSummary,
  listStatusChanges,
  listTeams,
  listTicketMessages,
  listTickets,
  NoteInput,
  openTicket,
  ReplyInput,
  replyToTicket,
  requireTicketInScope,
  setTicketStatus,
  TICKET_QUEUES,
  TicketInput,
  ticketSla,
} from '../service/tickets.ts';
import { CustomerKeyParams, customerFromParams } from './customer-access.ts';
import type { RouteDoc } from './openapi.ts';
import { PagingQuery, pagingOf } from './paging.ts';
import { actorOf, allow, publicRoute } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

const positiveId = (message = 'must be a positive id') =>
  z
    .string()
    .regex(/^[1-9]\d{0,15}$/, message)
    .transform(Number);

export const TicketParams = z.object({ ticketId: positiveId() });
export const FollowUpParams = z.object({ followUpId: positiveId() });
/** The token travels as the rest of the path (`/s/<token>`): it is longer than a route parameter may be. */
export const CsatParams = z.object({ '*': z.string().min(10, 'is not a link token').max(2000) });

export const TicketsQuery = PagingQuery.extend({
  queue: z.enum(TICKET_QUEUES).optional().describe('mine, team (your teams), unassigned, all (default)'),
  status: z
    .string()
    .regex(/^[a-z]+(,[a-z]+)*$/, 'must be statuses separated by commas')
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(INTERACTION_STATUSES)))
    .optional()
    .describe('comma-separated; default new,open,waiting'),
  priority: z.enum(TICKET_PRIORITIES).optional(),
  kind: z.enum(INTERACTION_KINDS).optional(),
  teamId: positiveId().optional(),
  storeId: positiveId().optional(),
});

const isoDateTime = z.string().describe('ISO 8601 date-time');

/** One ticket of a queue as GET /api/tickets answers it (listTickets). */
export const TicketListItem = z.object({
  id: z.number().int(),
  customerId: z.number().int(),
  customerName: z
    .string()
    .nullable()
    .describe('the customer’s name; null when they have none or were erased (show the id then)'),
  kind: z.enum(INTERACTION_KINDS),
  channel: z.enum(INTERACTION_CHANNELS),
  status: z.enum(INTERACTION_STATUSES),
  priority: z.enum(TICKET_PRIORITIES),
  subject: z.string().nullable(),
  body: z.string().nullable().describe('null with bodyRedacted for complaints your role may not read'),
  bodyRedacted: z.boolean(),
  storeId: z.number().int().nullable(),
  assigneeStaffId: z.number().int().nullable(),
  assigneeName: z.string().nullable(),
  teamId: z.number().int().nullable(),
  teamName: z.string().nullable(),
  openedAt: isoDateTime,
  firstResponseAt: isoDateTime.nullable(),
  resolvedAt: isoDateTime.nullable(),
});
export const TicketListResponse = z.object({
  tickets: z.array(TicketListItem),
  hasMore: z.boolean(),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const BreachingQuery = z.object({
  queue: z.enum(TICKET_QUEUES).optional().describe('mine, team, unassigned, all (default)'),
});

export const FollowUpsQuery = PagingQuery.extend({
  assignee: z
    .union([z.literal('mine'), positiveId('must be mine or a staff id')])
    .optional()
    .describe('mine, or a staff id; default everyone'),
  dueBy: z.iso
    .datetime({ offset: true })
    .transform((v) => new Date(v))
    .optional()
    .describe('due at or before; default now'),
  state: z.enum(['due', 'done', 'cancelled']).optional(),
});

const isoDay = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v));

export const MeasuresQuery = z.object({
  from: isoDay.describe('start of the period (a date is 00:00 UTC)'),
  to: isoDay.describe('end of the period, exclusive'),
  by: z.enum(['agent', 'team']).optional().describe('default agent'),
  asOf: isoDay.optional().describe('outcome windows must have ended by then; default now'),
});

export const RetentionQuery = z.object({
  from: isoDay.describe('tickets opened from (a date is 00:00 UTC)'),
  to: isoDay.describe('…until, exclusive'),
  asOf: isoDay.optional().describe('outcome windows must have ended by then; default now'),
  churnDays: z
    .string()
    .regex(/^[1-9]\d{0,3}$/, 'must be a number of days')
    .transform(Number)
    .optional()
    .describe('no order in this many days after the first response is churn; default 365'),
  channels: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(INTERACTION_CHANNELS)))
    .optional()
    .describe('comma-separated channels, e.g. email,web; default all'),
});

export const StatusBody = z.strictObject({ status: z.enum(INTERACTION_STATUSES) });
export const TeamBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  staffIds: z.array(z.number().int().positive()).max(500).optional(),
});

export const WebFormBody = z.strictObject({
  email: z.email('must be an e-mail address').max(254),
  name: z.string().trim().min(1).max(200).optional(),
  kind: z.enum(['inquiry', 'request', 'complaint', 'suggestion']).optional().describe('default inquiry'),
  subject: z.string().trim().min(1).max(500),
  body: z.string().trim().min(1).max(20_000),
});

export const InboundQuery = z.object({
  unknownSender: z.enum(['create', 'refuse']).optional().describe('create (default) or refuse'),
});

/** The public web form and the satisfaction link act as the shop, not as a staff member. */
const SHOP_ACTOR: Actor = {
  kind: 'cli',
  staffId: null,
  tokenId: null,
  name: 'web form',
  role: 'owner',
  storeIds: null,
};

export const WEB_FORM_RATE_PER_MINUTE = 5;
const INBOUND_MAIL_LIMIT_BYTES = 25 * 1024 * 1024;

async function ticketForRequest(
  request: Parameters<typeof actorOf>[0],
  database: Database,
): Promise<{ customerId: number; ticketId: number }> {
  const { ticketId } = parseInput(TicketParams, request.params);
  const customerId = await requireTicketInScope(database, actorOf(request), ticketId);
  request.audit.customerId = customerId;
  request.audit.target = `ticket:${ticketId}`;
  return { customerId, ticketId };
}

async function csatFor(database: Database, customerId: number, ticketId: number, status: string) {
  if (status !== 'resolved' && status !== 'closed') return null;
  const link = await csatLink(database, customerId, ticketId);
  return { url: link.url, expiresAt: link.expiresAt };
}

/** Tickets, replies, queues, follow-ups, inbound e-mail, the web form and the satisfaction links. */
export const ticketRoutes: RouteModule = (app, { database }) => {
  app.addContentTypeParser(
    'message/rfc822',
    { parseAs: 'buffer', bodyLimit: INBOUND_MAIL_LIMIT_BYTES },
    (_request, body, done) => done(null, body),
  );
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  app.get('/api/tickets', allow('customers:read', { personalData: true }), async (request) => {
    const query = parseInput(TicketsQuery, request.query);
    const paging = pagingOf(query);
    const result = await listTickets(
      database,
      actorOf(request),
      {
        queue: query.queue,
        statuses: query.status,
        priority: query.priority,
        kind: query.kind,
        teamId: query.teamId,
        storeId: query.storeId,
      },
      paging,
    );
    return { ...result, ...paging };
  });

  app.post('/api/customers/:id/tickets', allow('interactions:write'), async (request, reply) => {
    const customerId = await customerFromParams(request, database);
    const ticket = await openTicket(
      database,
      actorOf(request),
      customerId,
      parseInput(TicketInput, request.body),
    );
    request.audit.target = `ticket:${ticket.id}`;
    reply.status(201);
    return { ticket };
  });

  app.get('/api/tickets/breaching', allow('customers:read', { personalData: true }), async (request) => {
    const query = parseInput(BreachingQuery, request.query);
    const tickets = await breachingTickets(database, actorOf(request), { queue: query.queue });
    return { tickets };
  });

  app.get('/api/tickets/:ticketId', allow('customers:read', { personalData: true }), async (request) => {
    const { customerId, ticketId } = await ticketForRequest(request, database);
    const actor = actorOf(request);
    const [ticket, messages, statusChanges, followUps, csat, sla] = await Promise.all([
      getTicketSummary(database, actor, customerId, ticketId),
      listTicketMessages(database, actor, customerId, ticketId),
      listStatusChanges(database, customerId, ticketId),
      listFollowUps(database, actor, { customerId, ticketId, state: 'due', dueBy: null }),
      database.db
        .selectFrom('csat_responses')
        .select(['score', 'comment', 'agent_staff_id as agentStaffId', 'answered_at as answeredAt'])
        .where('customer_id', '=', customerId)
        .where('interaction_id', '=', ticketId)
        .executeTakeFirst(),
      ticketSla(database, customerId, ticketId),
    ]);
    return {
      ticket,
      messages,
      statusChanges,
      followUps: followUps.followUps,
      csat: csat ?? null,
      sla,
    };
  });

  app.post('/api/tickets/:ticketId/replies', allow('interactions:write'), async (request, reply) => {
    const { customerId, ticketId } = await ticketForRequest(request, database);
    const input = parseInput(ReplyInput, request.body);
    const posted = await replyToTicket(database, actorOf(request), customerId, ticketId, input);
    reply.status(201);
    return { ...posted, csat: await csatFor(database, customerId, ticketId, posted.ticket.status) };
  });

  app.post('/api/tickets/:ticketId/notes', allow('interactions:write'), async (request, reply) => {
    const { customerId, ticketId } = await ticketForRequest(request, database);
    const posted = await addInternalNote(
      database,
      actorOf(request),
      customerId,
      ticketId,
      parseInput(NoteInput, request.body),
    );
    reply.status(201);
    return posted;
  });

  app.patch('/api/tickets/:ticketId/status', allow('interactions:write'), async (request) => {
    const { customerId, ticketId } = await ticketForRequest(request, database);
    const { status } = parseInput(StatusBody, request.body);
    request.audit.detail = { status };
    const ticket = await setTicketStatus(database, actorOf(request), customerId, ticketId, status);
    return { ticket, csat: await csatFor(database, customerId, ticketId, ticket.status) };
  });

  app.patch('/api/tickets/:ticketId/assignment', allow('interactions:write'), async (request) => {
    const { customerId, ticketId } = await ticketForRequest(request, database);
    const input = parseInput(AssignInput, request.body);
    request.audit.detail = { ...input };
    return { ticket: await assignTicket(database, actorOf(request), customerId, ticketId, input) };
  });

  app.get('/api/follow-ups', allow('customers:read', { personalData: true }), async (request) => {
    const query = parseInput(FollowUpsQuery, request.query);
    const paging = pagingOf(query);
    const result = await listFollowUps(
      database,
      actorOf(request),
      { assignee: query.assignee, dueBy: query.dueBy, state: query.state },
      paging,
    );
    return { ...result, ...paging };
  });

  app.post('/api/follow-ups/:followUpId/answer', allow('interactions:write'), async (request) => {
    const { followUpId } = parseInput(FollowUpParams, request.params);
    const customerId = await customerOfFollowUp(database, followUpId);
    request.audit.customerId = customerId;
    request.audit.target = `follow_up:${followUpId}`;
    await requireCustomerInScope(database, actorOf(request), customerId);
    const input = parseInput(FollowUpAnswer, request.body);
    return { followUp: await answerFollowUp(database, actorOf(request), customerId, followUpId, input) };
  });

  app.get('/api/service/measures', allow('reports:read'), async (request) => {
    const query = parseInput(MeasuresQuery, request.query);
    return serviceMeasures(database, query);
  });

  app.get('/api/service/retention-report', allow('reports:read'), async (request) => {
    const query = parseInput(RetentionQuery, request.query);
    return responseTimeRetention(database, query);
  });

  app.get('/api/teams', allow('customers:read'), async () => ({ teams: await listTeams(database) }));

  app.post('/api/teams', allow('service:manage'), async (request, reply) => {
    const body = parseInput(TeamBody, request.body);
    const team = await createTeam(database, body.name, body.staffIds ?? []);
    request.audit.target = `team:${team.id}`;
    reply.status(201);
    return { team };
  });

  app.post('/api/inbound/email', allow('interactions:write'), async (request, reply) => {
    if (!Buffer.isBuffer(request.body)) {
      throw new KizunaError('invalid_request', 'Send the raw message with Content-Type: message/rfc822', {
        status: 415,
      });
    }
    const { unknownSender } = parseInput(InboundQuery, request.query);
    const result = await receiveEmail(database, actorOf(request), request.body, { unknownSender });
    request.audit.customerId = result.customerId;
    request.audit.target = `ticket:${result.ticketId}`;
    request.audit.detail = { outcome: result.outcome, customerCreated: result.customerCreated };
    reply.status(result.outcome === 'duplicate' ? 200 : 201);
    const { ticket: _, ...summary } = result;
    return summary;
  });

  app.post(
    '/api/forms/ticket',
    {
      config: {
        ...publicRoute('the contact form on the shop’s web site: customers have no account').config,
        rateLimit: { max: WEB_FORM_RATE_PER_MINUTE, timeWindow: '1 minute' },
      },
    },
    async (request, reply) => {
      const body = parseInput(WebFormBody, request.body);
      const email = body.email.toLowerCase();
      const found = await database.db
        .selectFrom('customers')
        .select('id')
        .where((eb) => eb(eb.fn('lower', ['email']), '=', email))
        .where('merged_into_customer_id', 'is', null)
        .where('erased_at', 'is', null)
        .orderBy('id')
        .executeTakeFirst();
      const customerId =
        found?.id ??
        (
          await createCustomer(
            database,
            SHOP_ACTOR,
            { email, ...(body.name ? { name: body.name } : {}), acquisition_source: 'web form' },
            'web form',
          )
        ).id;
      const ticket = await openTicket(database, SHOP_ACTOR, customerId, {
        kind: body.kind ?? 'inquiry',
        channel: 'web',
        subject: body.subject,
        body: body.body,
      });
      request.audit.customerId = customerId;
      request.audit.target = `ticket:${ticket.id}`;
      reply.status(201);
      // Nothing about the customer goes back to an anonymous caller: only the ticket number.
      return { ticketId: ticket.id };
    },
  );

  app.get('/s/*', publicRoute('the satisfaction link a customer received'), async (request, reply) => {
    const token = parseInput(CsatParams, request.params)['*'];
    const ticket = await csatTicket(database, token);
    reply.type('text/html; charset=utf-8');
    return csatFormHtml(ticket);
  });

  app.post('/s/*', publicRoute('the satisfaction link a customer received'), async (request, reply) => {
    const token = parseInput(CsatParams, request.params)['*'];
    const answer = parseInput(CsatAnswer, request.body);
    const result = await recordCsat(database, token, answer);
    request.audit.target = `ticket:${result.ticketId}`;
    request.audit.detail = { score: result.score, replaced: result.replaced };
    if (request.headers['content-type']?.startsWith('application/json')) return result;
    reply.type('text/html; charset=utf-8');
    return csatFormHtml(await csatTicket(database, token), 'ありがとうございました / Thank you!');
  });
};

const TICKET_ERRORS = {
  400: 'a field is invalid',
  403: 'not allowed, or the ticket’s customer is not a customer of your stores',
  404: 'no such ticket',
};

export const ticketRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/tickets',
    tag: 'service desk',
    summary: 'A ticket queue: mine, my teams’, unassigned, or all; unfinished tickets by default.',
    description:
      'Only tickets of customers of your stores. Urgent first, then oldest first. Each ticket carries `customerName` (null for an erased customer or one without a name). Complaint text is withheld from roles the settings exclude.',
    query: TicketsQuery,
    response: TicketListResponse,
    responses: { 200: '{tickets, hasMore, limit, offset}', 400: 'a parameter is invalid' },
  },
  {
    method: 'POST',
    path: '/api/customers/:id/tickets',
    tag: 'service desk',
    summary: 'Open a ticket for a customer (status new); the body is the customer’s first message.',
    params: CustomerKeyParams,
    body: TicketInput,
    responses: {
      201: '{ticket}',
      400: 'a field is invalid, or names an unknown store, staff member or team',
      403: 'not allowed, or not a customer of your stores',
      404: 'no such customer',
    },
  },
  {
    method: 'GET',
    path: '/api/tickets/breaching',
    tag: 'service desk',
    summary: 'Breaching soon: unfinished tickets whose SLA is near breach or breached, soonest due first.',
    description:
      'Each ticket carries its customer’s name (`customerName`, as in GET /api/tickets), its SLA state (clocks, due times) and `dueAt`, the earliest due time still waited for.',
    query: BreachingQuery,
    responses: { 200: '{tickets}', 400: 'a parameter is invalid' },
  },
  {
    method: 'GET',
    path: '/api/tickets/:ticketId',
    tag: 'service desk',
    summary:
      'A ticket with its messages (customer messages, public replies, internal notes), status history, waiting follow-up and satisfaction answer.',
    params: TicketParams,
    responses: { 200: '{ticket, messages, statusChanges, followUps, csat, sla}', ...TICKET_ERRORS },
  },
  {
    method: 'POST',
    path: '/api/tickets/:ticketId/replies',
    tag: 'service desk',
    summary:
      'A public reply: counts as a response (the first stamps firstResponseAt) and is e-mailed when SMTP_URL is set.',
    description:
      'A new ticket becomes open unless `status` says otherwise. When the reply resolves the ticket, `csat` carries the satisfaction link to give the customer.',
    params: TicketParams,
    body: ReplyInput,
    responses: { 201: '{ticket, message, csat}', ...TICKET_ERRORS },
  },
  {
    method: 'POST',
    path: '/api/tickets/:ticketId/notes',
    tag: 'service desk',
    summary: 'An internal note: for staff only, never sent, not a response.',
    params: TicketParams,
    body: NoteInput,
    responses: { 201: '{ticket, message}', ...TICKET_ERRORS },
  },
  {
    method: 'PATCH',
    path: '/api/tickets/:ticketId/status',
    tag: 'service desk',
    summary: 'Move a ticket’s status; resolving a complaint or request schedules its follow-up.',
    description:
      'Resolved or closed: resolvedAt is stamped and `csat` carries the satisfaction link. Reopening cancels the waiting follow-up. A ticket cannot become new again.',
    params: TicketParams,
    body: StatusBody,
    responses: { 200: '{ticket, csat}', ...TICKET_ERRORS },
  },
  {
    method: 'PATCH',
    path: '/api/tickets/:ticketId/assignment',
    tag: 'service desk',
    summary: 'Assign a ticket to a staff member and/or a team (null clears).',
    params: TicketParams,
    body: AssignInput,
    responses: { 200: '{ticket}', ...TICKET_ERRORS },
  },
  {
    method: 'GET',
    path: '/api/follow-ups',
    tag: 'service desk',
    summary: 'Follow-ups due ("last time you had this problem — how is it now?"), soonest first.',
    query: FollowUpsQuery,
    responses: { 200: '{followUps, hasMore, limit, offset}', 400: 'a parameter is invalid' },
  },
  {
    method: 'POST',
    path: '/api/follow-ups/:followUpId/answer',
    tag: 'service desk',
    summary: 'Record the customer’s answer to a follow-up (once; a problem that came back is a new ticket).',
    params: FollowUpParams,
    body: FollowUpAnswer,
    responses: {
      200: '{followUp}',
      ...TICKET_ERRORS,
      404: 'no such follow-up',
      409: 'the follow-up is already done or cancelled',
    },
  },
  {
    method: 'GET',
    path: '/api/service/measures',
    tag: 'service desk',
    summary:
      'Agent or team measures for tickets opened in a period: CSAT, response and resolution times, SLA attainment, return after contact.',
    description:
      'No sales figures (the Zappos rule). Times in minutes: wall clock (median, p90) and business hours from the SLA clocks. Return after contact: share of contacted customers who ordered within 90/180 days after the week of the resolution, against matched customers without contact (tier and recency on the same index day). See docs/service-desk.md.',
    query: MeasuresQuery,
    responses: { 200: '{from, to, asOf, by, groups, total}', 400: 'a parameter is invalid' },
  },
  {
    method: 'GET',
    path: '/api/service/retention-report',
    tag: 'service desk',
    summary:
      'Response time ↔ retention: customers bucketed by their first ticket’s first-response time, repeat purchase (90/180 days) and churn per bucket with Wilson intervals.',
    query: RetentionQuery,
    responses: { 200: '{from, to, asOf, churnDays, channels, buckets}', 400: 'a parameter is invalid' },
  },
  {
    method: 'GET',
    path: '/api/teams',
    tag: 'service desk',
    summary: 'The service teams and their members.',
    responses: { 200: '{teams}' },
  },
  {
    method: 'POST',
    path: '/api/teams',
    tag: 'service desk',
    summary: 'Create a team (service:manage).',
    body: TeamBody,
    responses: {
      201: '{team}',
      400: 'a field is invalid or names an unknown staff member',
      409: 'the name is taken',
    },
  },
  {
    method: 'POST',
    path: '/api/inbound/email',
    tag: 'service desk',
    summary:
      'Receive one raw e-mail (Content-Type: message/rfc822): threads it to its ticket or opens a new one.',
    description:
      'The sender is matched to a customer by e-mail (case-insensitive); an unknown sender becomes a new customer unless `unknownSender=refuse`. Threading by In-Reply-To/References, then a "[#id]" subject token. A Message-ID seen before is not stored again (200, outcome duplicate). Up to 25 MB.',
    query: InboundQuery,
    responses: {
      200: '{outcome: duplicate, customerId, ticketId, …}',
      201: '{outcome: opened | threaded, customerId, customerCreated, ticketId, messageId}',
      400: 'the message has no From address',
      415: 'not sent as message/rfc822',
      422: 'unknown sender and unknownSender=refuse',
    },
  },
  {
    method: 'POST',
    path: '/api/forms/ticket',
    tag: 'service desk',
    summary: 'The public contact form: matches or creates the customer by e-mail and opens a web ticket.',
    description: `No sign-in; at most ${WEB_FORM_RATE_PER_MINUTE} per minute from one address. Answers only the ticket number.`,
    body: WebFormBody,
    responses: { 201: '{ticketId}', 400: 'a field is invalid', 429: 'too many forms from this address' },
  },
  {
    method: 'GET',
    path: '/s/*',
    tag: 'service desk',
    summary: 'The satisfaction form behind a signed link (HTML; 1–5 and a comment).',
    params: CsatParams,
    responses: {
      200: 'an HTML form',
      400: 'the link is not valid or has expired',
      404: 'the ticket is gone',
    },
  },
  {
    method: 'POST',
    path: '/s/*',
    tag: 'service desk',
    summary:
      'Answer the satisfaction question (form or JSON {score, comment}); answering again replaces the answer.',
    params: CsatParams,
    body: CsatAnswer,
    responses: {
      200: 'HTML thanks, or {ticketId, score, replaced} for JSON',
      400: 'the score is not 1–5, or the link is not valid or has expired',
      404: 'the ticket is gone',
    },
  },
];
