import { z } from 'zod';
import { verifyLink } from '../auth/index.ts';
import {
  assignCampaign,
  CallOutcomeInput,
  type Campaign,
  CampaignInput,
  ContactPolicyPatch,
  callList,
  callListCsv,
  campaignLetters,
  cancelCampaign,
  cloneCampaign,
  createCampaign,
  defaultSenders,
  getCampaign,
  lettersCsv,
  lettersPdf,
  listCampaigns,
  listCaughtMails,
  logCallOutcome,
  previewCampaign,
  readContactPolicy,
  recordBounce,
  type SendResult,
  sendCampaign,
  unsubscribe,
  updateContactPolicy,
} from '../campaigns/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow, publicRoute } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const CampaignParams = z.object({ id: z.string().regex(/^[1-9]\d{0,14}$/, 'must be a campaign id') });
/** The signed token follows /u/ (a wildcard: tokens are longer than Fastify's 100-character parameters). */
export const TokenParams = z.object({ '*': z.string().min(10).max(2000) });
const tokenOf = (params: unknown) => parseInput(TokenParams, params)['*'];
export const PreviewBody = z.strictObject({
  limit: z.number().int().min(1).max(500).optional().describe('excluded customers listed (default 50)'),
});
export const SendBody = z.strictObject({
  wait: z.boolean().optional().describe('answer when done (200) instead of at once (202)'),
  ratePerSecond: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .describe('throttle: at most this many mails/s'),
  resume: z.boolean().optional().describe('take rows left "sending" by a dead process as abandoned now'),
});
export const CallListQuery = z.object({ format: z.enum(['json', 'csv']).optional() });
export const BounceBody = z.strictObject({
  customerId: z.number().int().positive(),
  reason: z.string().max(500).optional(),
});
export const MailsQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,4}$/)
    .transform(Number)
    .optional(),
});

const campaignId = (params: unknown) => Number(parseInput(CampaignParams, params).id);

type RunningSend = { startedAt: Date; result: Promise<SendResult>; error?: string; finished?: SendResult };
const running = new WeakMap<Database, Map<number, RunningSend>>();

function runningSends(database: Database): Map<number, RunningSend> {
  let map = running.get(database);
  if (!map) {
    map = new Map();
    running.set(database, map);
  }
  return map;
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">${body}</body></html>`;

/**
 * Campaigns: create, list, show, clone, cancel, assign, preview (who would be excluded and why, and the
 * cost), send (durable; async with a status route), the letter print files, the call list and call
 * outcomes, bounces, the contact policy, the demo mail catcher, and the public unsubscribe link.
 */
export const campaignRoutes: RouteModule = (app, { database }) => {
  // RFC 8058 one-click unsubscribe posts `List-Unsubscribe=One-Click` as a form.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );

  app.post('/api/campaigns', allow('campaigns:write'), async (request, reply) => {
    const campaign = await createCampaign(database, actorOf(request), request.body);
    request.audit.target = `campaign ${campaign.id}`;
    return reply.code(201).send(campaign);
  });

  app.get('/api/campaigns', allow('reports:read'), async () => ({
    campaigns: await listCampaigns(database),
  }));

  app.get('/api/campaigns/:id', allow('reports:read'), async (request) =>
    getCampaign(database, campaignId(request.params)),
  );

  app.post('/api/campaigns/:id/clone', allow('campaigns:write'), async (request, reply) => {
    const campaign = await cloneCampaign(
      database,
      actorOf(request),
      campaignId(request.params),
      request.body ?? {},
    );
    request.audit.target = `campaign ${campaign.id}`;
    return reply.code(201).send(campaign);
  });

  app.post('/api/campaigns/:id/cancel', allow('campaigns:write'), async (request) =>
    cancelCampaign(database, actorOf(request), campaignId(request.params)),
  );

  app.post('/api/campaigns/:id/assign', allow('campaigns:write'), async (request) =>
    assignCampaign(database, actorOf(request), campaignId(request.params)),
  );

  app.post(
    '/api/campaigns/:id/preview',
    allow('campaigns:write', { personalData: true }),
    async (request) => {
      const body = parseInput(PreviewBody, request.body ?? {});
      return previewCampaign(database, actorOf(request), campaignId(request.params), { limit: body.limit });
    },
  );

  app.post('/api/campaigns/:id/send', allow('campaigns:send'), async (request, reply) => {
    const id = campaignId(request.params);
    const body = parseInput(SendBody, request.body ?? {});
    const actor = actorOf(request);
    const sends = runningSends(database);
    const current = sends.get(id);
    if (current && !current.finished && !current.error) {
      return reply.code(202).send({ campaignId: id, running: true, status: `/api/campaigns/${id}/status` });
    }
    const campaign = await getCampaign(database, id);
    if (campaign.status === 'cancelled') {
      throw new KizunaError('campaign_cancelled', `Campaign ${id} was cancelled`, { status: 409 });
    }
    const senders = defaultSenders(database);
    const result = sendCampaign(database, actor, id, {
      senders: senders.senders,
      ratePerSecond: body.ratePerSecond,
      resume: body.resume,
    }).finally(() => senders.close());
    const entry: RunningSend = { startedAt: new Date(), result };
    sends.set(id, entry);
    result.then(
      (done) => {
        entry.finished = done;
      },
      (error: Error) => {
        entry.error = error.message;
        request.log.error({ err: error, campaign: id }, 'campaign send failed');
      },
    );
    request.audit.target = `campaign ${id}`;
    if (body.wait) return result;
    return reply.code(202).send({ campaignId: id, running: true, status: `/api/campaigns/${id}/status` });
  });

  app.get('/api/campaigns/:id/status', allow('reports:read'), async (request) => {
    const id = campaignId(request.params);
    const campaign: Campaign = await getCampaign(database, id);
    const send = runningSends(database).get(id);
    return {
      campaignId: id,
      status: campaign.status,
      recipients: campaign.recipients,
      running: send !== undefined && !send.finished && !send.error,
      error: send?.error ?? null,
    };
  });

  app.get(
    '/api/campaigns/:id/letters.pdf',
    allow('campaigns:write', { personalData: true }),
    async (request, reply) => {
      const { letters } = await campaignLetters(database, campaignId(request.params));
      return reply
        .type('application/pdf')
        .header('content-disposition', 'attachment; filename="letters.pdf"')
        .send(await lettersPdf(letters));
    },
  );

  app.get(
    '/api/campaigns/:id/letters.csv',
    allow('campaigns:write', { personalData: true }),
    async (request, reply) => {
      const { letters } = await campaignLetters(database, campaignId(request.params));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="letters.csv"')
        .send(lettersCsv(letters));
    },
  );

  app.get(
    '/api/campaigns/:id/call-list',
    allow('campaigns:write', { personalData: true }),
    async (request, reply) => {
      const { format } = parseInput(CallListQuery, request.query);
      const rows = await callList(database, actorOf(request), campaignId(request.params));
      if (format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="call-list.csv"')
          .send(callListCsv(rows));
      }
      return { calls: rows };
    },
  );

  app.post('/api/calls', allow('interactions:write'), async (request, reply) => {
    const input = parseInput(CallOutcomeInput, request.body);
    request.audit.customerId = input.customerId;
    const result = await logCallOutcome(database, actorOf(request), input);
    return reply.code(201).send(result);
  });

  app.post('/api/campaigns/:id/bounces', allow('campaigns:send'), async (request) => {
    const body = parseInput(BounceBody, request.body);
    request.audit.customerId = body.customerId;
    return recordBounce(database, { campaignId: campaignId(request.params), ...body });
  });

  app.get('/api/contact-policy', allow('reports:read'), async () => readContactPolicy(database));

  app.patch('/api/contact-policy', allow('settings:manage'), async (request) => {
    const patch = parseInput(ContactPolicyPatch, request.body ?? {});
    request.audit.detail = { patch };
    return updateContactPolicy(database, patch, actorOf(request).staffId);
  });

  app.get('/api/demo/mails', allow('campaigns:write'), async (request) => {
    const { limit } = parseInput(MailsQuery, request.query);
    const mails = await listCaughtMails({ limit: limit ?? 100 });
    return {
      mails: mails.map((m) => ({
        id: m.id,
        to: m.to,
        subject: m.subject,
        date: m.date,
        text: m.text,
        ...(m.html ? { html: m.html } : {}),
      })),
    };
  });

  app.get(
    '/u/*',
    publicRoute('unsubscribe link in a campaign e-mail: the signed token is the authority'),
    async (request, reply) => {
      const token = tokenOf(request.params);
      // Only checked here; the opt-out is recorded by the button (POST), so that a mail scanner
      // following links does not unsubscribe anyone.
      await verifyLink(database, token, 'unsubscribe');
      return reply.type('text/html; charset=utf-8').send(
        page(
          'Unsubscribe',
          `<h1>Unsubscribe</h1><p>Stop receiving e-mails from us?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>`,
        ),
      );
    },
  );

  app.post(
    '/u/*',
    publicRoute('one-click unsubscribe (RFC 8058) from a campaign e-mail: the signed token is the authority'),
    async (request, reply) => {
      const token = tokenOf(request.params);
      const result = await unsubscribe(database, token);
      request.audit.customerId = result.customerId;
      request.audit.target = `unsubscribe${result.campaignId ? ` campaign ${result.campaignId}` : ''}`;
      const wantsHtml = (request.headers.accept ?? '').includes('text/html');
      if (wantsHtml) {
        return reply
          .type('text/html; charset=utf-8')
          .send(
            page('Unsubscribed', '<h1>Unsubscribed</h1><p>You will receive no more e-mails from us.</p>'),
          );
      }
      return { unsubscribed: true, recorded: result.recorded };
    },
  );
};

const REFUSED = 'your role does not allow it';
const NOT_FOUND = 'no such campaign';

export const campaignRouteDocs: RouteDoc[] = [
  {
    method: 'POST',
    path: '/api/campaigns',
    tag: 'campaigns',
    summary: 'Create a campaign (draft): channel, purpose, goal, audience, variants, holdout, cost, budget.',
    body: CampaignInput,
    responses: {
      201: 'the campaign',
      400: 'invalid_request (the field says which)',
      403: REFUSED,
      409: 'name taken',
    },
  },
  {
    method: 'GET',
    path: '/api/campaigns',
    tag: 'campaigns',
    summary: 'The campaigns, newest first.',
    responses: { 200: '{campaigns}', 403: REFUSED },
  },
  {
    method: 'GET',
    path: '/api/campaigns/:id',
    tag: 'campaigns',
    summary: 'A campaign with its variants and recipients per state.',
    params: CampaignParams,
    responses: { 200: 'the campaign', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'POST',
    path: '/api/campaigns/:id/clone',
    tag: 'campaigns',
    summary:
      'Version 2: a new draft from a campaign (content, goal, audience), with changes; compared with it.',
    params: CampaignParams,
    responses: { 201: 'the new campaign', 400: 'invalid_request', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'POST',
    path: '/api/campaigns/:id/cancel',
    tag: 'campaigns',
    summary: 'Cancel a campaign that has not been sent completely; unsent rows stay unsent.',
    params: CampaignParams,
    responses: { 200: 'the campaign', 403: REFUSED, 404: NOT_FOUND, 409: 'already sent' },
  },
  {
    method: 'POST',
    path: '/api/campaigns/:id/assign',
    tag: 'campaigns',
    summary: 'Snapshot the audience and assign each member to a variant or the holdout (seeded, by tier).',
    params: CampaignParams,
    responses: { 200: '{snapshotId, members, holdout, byStratum, byVariant}', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'POST',
    path: '/api/campaigns/:id/preview',
    tag: 'campaigns',
    summary:
      'Who would be reached per channel, who is excluded and why (counts and first customers), the cost.',
    params: CampaignParams,
    body: PreviewBody,
    responses: {
      200: '{recipients, holdout, reach, excluded, excludedCustomers, cost, totalCost, budget, overBudget}',
      403: REFUSED,
      404: NOT_FOUND,
    },
  },
  {
    method: 'POST',
    path: '/api/campaigns/:id/send',
    tag: 'campaigns',
    summary: 'Send (durable, resumable, policy checked at send time); 202 and a status route, or wait: true.',
    params: CampaignParams,
    body: SendBody,
    responses: {
      200: 'with wait: {sent, suppressed, failed, bounced…}',
      202: '{status}',
      403: REFUSED,
      404: NOT_FOUND,
    },
  },
  {
    method: 'GET',
    path: '/api/campaigns/:id/status',
    tag: 'campaigns',
    summary: 'A send in progress: recipients per state, running, error.',
    params: CampaignParams,
    responses: { 200: '{status, recipients, running, error}', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'GET',
    path: '/api/campaigns/:id/letters.pdf',
    tag: 'campaigns',
    summary: 'The print-ready letters: A4 PDF, one page per letter sent.',
    params: CampaignParams,
    responses: { 200: 'application/pdf', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'GET',
    path: '/api/campaigns/:id/letters.csv',
    tag: 'campaigns',
    summary: 'The letters as a mail-merge CSV for a print shop.',
    params: CampaignParams,
    responses: { 200: 'text/csv', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'GET',
    path: '/api/campaigns/:id/call-list',
    tag: 'campaigns',
    summary: 'The call list of a phone campaign: each customer with context (360) and the follow-up script.',
    params: CampaignParams,
    query: CallListQuery,
    responses: { 200: '{calls} or text/csv', 400: 'not a phone campaign', 403: REFUSED, 404: NOT_FOUND },
  },
  {
    method: 'POST',
    path: '/api/calls',
    tag: 'campaigns',
    summary: 'Log a call’s outcome (an interaction of kind call); a sales call is refused by the policy.',
    body: CallOutcomeInput,
    responses: { 201: '{interactionId}', 403: REFUSED, 422: 'sales_call_refused' },
  },
  {
    method: 'POST',
    path: '/api/campaigns/:id/bounces',
    tag: 'campaigns',
    summary: 'Record a bounce reported after sending (touch bounced_at, recipient state bounced).',
    params: CampaignParams,
    body: BounceBody,
    responses: { 200: '{bounced}', 403: REFUSED, 404: 'not a recipient', 409: 'nothing was sent' },
  },
  {
    method: 'GET',
    path: '/api/contact-policy',
    tag: 'campaigns',
    summary: 'The contact policy: frequency caps, complaint quiet period, tiers allowed letters and calls.',
    responses: { 200: 'the policy', 403: REFUSED },
  },
  {
    method: 'PATCH',
    path: '/api/contact-policy',
    tag: 'campaigns',
    summary: 'Change parts of the contact policy (owner).',
    body: ContactPolicyPatch,
    responses: { 200: 'the policy', 400: 'invalid_request', 403: REFUSED },
  },
  {
    method: 'GET',
    path: '/api/demo/mails',
    tag: 'campaigns',
    summary: 'The mails the local SMTP catcher caught (kizuna serve without SMTP_URL), newest first.',
    query: MailsQuery,
    responses: { 200: '{mails: [{id, to, subject, date, text, html?}]}', 403: REFUSED },
  },
  {
    method: 'GET',
    path: '/u/*',
    tag: 'campaigns',
    summary: 'Unsubscribe page (public, signed link): a button that posts the opt-out.',
    responses: { 200: 'text/html', 400: 'invalid_link' },
  },
  {
    method: 'POST',
    path: '/u/*',
    tag: 'campaigns',
    summary: 'One-click unsubscribe (RFC 8058): records the e-mail consent as withdrawn.',
    responses: { 200: '{unsubscribed, recorded} or an HTML page', 400: 'invalid_link' },
  },
];
