import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import { type MailCatcher, setDemoMailCatcher } from '../src/campaigns/index.ts';
import type { Database } from '../src/db/index.ts';
import { loadCustomers, tagSegment } from './campaigns-fixture.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';
import { catchSmtp, type SmtpCatcher } from './helpers/smtp.ts';

/** The campaign routes around the send: validation, permissions, clone, async send and status, bounces, mails. */
describe('campaign API', () => {
  let database: Database;
  let app: ReturnType<typeof buildServer>;
  let catcher: MailCatcher;
  let smtp: SmtpCatcher;
  let marketer: Record<string, string>;

  beforeAll(async () => {
    database = await openTestDatabase();
    smtp = await catchSmtp();
    catcher = smtp.catcher;
    setDemoMailCatcher(catcher);
    app = buildServer(database);
    await loadCustomers(database, [
      { id: 1, name: 'Aiko', consents: { email: true } },
      { id: 2, name: 'Ben', consents: { email: true } },
    ]);
    await tagSegment(database, 'audience');
    marketer = await tokenHeaders(database, 'marketer');
  });

  afterAll(async () => {
    setDemoMailCatcher(null);
    await app.close();
    await smtp.close();
    await database.close();
  });

  const post = (url: string, payload: unknown, headers = marketer) =>
    app.inject({ method: 'POST', url, headers, payload: payload as object });

  it('refuses invalid campaigns naming the field, and callers without the permission', async () => {
    const noAudience = await post('/api/campaigns', { name: 'x', channel: 'email', audience: {} });
    expect(noAudience.statusCode).toBe(400);
    expect(noAudience.json().error).toMatchObject({ code: 'invalid_request', field: 'audience' });
    const badFallback = await post('/api/campaigns', {
      name: 'x',
      channel: 'email',
      audience: { segment: 'audience' },
      fallbackChannel: 'email',
    });
    expect(badFallback.json().error.field).toBe('fallbackChannel');
    const unknownSegment = await post('/api/campaigns', {
      name: 'x',
      channel: 'email',
      audience: { segment: 'nope' },
    });
    expect(unknownSegment.json().error).toMatchObject({
      code: 'segment_not_found',
      field: 'audience.segment',
    });
    const staff = await tokenHeaders(database, 'store_staff');
    const refused = await post(
      '/api/campaigns',
      { name: 'x', channel: 'email', audience: { segment: 'audience' } },
      staff,
    );
    expect(refused.statusCode).toBe(403);
    const list = await app.inject({ method: 'GET', url: '/api/campaigns', headers: staff });
    expect(list.statusCode).toBe(403);
  });

  it('clones as version 2, sends in the background with a status route, records a bounce, lists caught mails', async () => {
    const created = await post('/api/campaigns', {
      name: 'v1',
      channel: 'email',
      audience: { segment: 'audience' },
      goal: { kind: 'category', category: 'wine', windowDays: 14 },
      variants: [{ code: 'A', subject: 'Hello {{ customer.name }}', offer: '5 %' }],
    });
    expect(created.statusCode, created.body).toBe(201);
    const v1 = created.json();
    const clone = await post(`/api/campaigns/${v1.id}/clone`, {
      variants: [{ code: 'A', subject: 'Hello again {{ customer.name }}', offer: '10 %' }],
    });
    expect(clone.statusCode, clone.body).toBe(201);
    expect(clone.json()).toMatchObject({
      name: 'v1 (v2)',
      previousCampaignId: v1.id,
      goal: { kind: 'category', category: 'wine', windowDays: 14 },
      segmentId: v1.segmentId,
      variants: [expect.objectContaining({ code: 'A', offer: '10 %' })],
      status: 'draft',
    });
    const id = clone.json().id as number;

    const started = await post(`/api/campaigns/${id}/send`, {});
    expect(started.statusCode).toBe(202);
    let status = started.json();
    // Until the background send has finished: the campaign is 'sent' a moment before the job says it stopped.
    for (let i = 0; i < 400 && (status.status !== 'sent' || status.running); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (
        await app.inject({ method: 'GET', url: `/api/campaigns/${id}/status`, headers: marketer })
      ).json();
    }
    expect(status).toMatchObject({ status: 'sent', recipients: { sent: 2 }, running: false, error: null });

    const sentAt = (
      await app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers: marketer })
    ).json().sentAt;
    const again = await post(`/api/campaigns/${id}/send`, { wait: true });
    expect(again.json()).toMatchObject({ total: 0, sent: 0, status: 'sent' });
    const after = (
      await app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers: marketer })
    ).json();
    expect(after.sentAt).toBe(sentAt);

    const bounce = await post(`/api/campaigns/${id}/bounces`, {
      customerId: 2,
      reason: '550 mailbox unknown',
    });
    expect(bounce.statusCode, bounce.body).toBe(200);
    const shown = (
      await app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers: marketer })
    ).json();
    expect(shown.recipients).toEqual({ sent: 1, bounced: 1 });
    const notRecipient = await post(`/api/campaigns/${id}/bounces`, { customerId: 99 });
    expect(notRecipient.statusCode).toBe(404);

    const mails = await app.inject({ method: 'GET', url: '/api/demo/mails', headers: marketer });
    expect(
      mails
        .json()
        .mails.map((m: { subject: string }) => m.subject)
        .sort(),
    ).toEqual(['Hello again Aiko', 'Hello again Ben']);
    expect(mails.json().mails[0]).toEqual({
      id: expect.any(Number),
      to: expect.stringMatching(/@example\.jp$/),
      subject: expect.any(String),
      date: expect.any(String),
      text: expect.stringContaining('10 %'),
      html: expect.stringContaining('10 %'),
    });

    const cancelSent = await post(`/api/campaigns/${id}/cancel`, {});
    expect(cancelSent.statusCode).toBe(409);
    const cancelled = await post(`/api/campaigns/${v1.id}/cancel`, {});
    expect(cancelled.json().status).toBe('cancelled');
    const sendCancelled = await post(`/api/campaigns/${v1.id}/send`, {});
    expect(sendCancelled.statusCode).toBe(409);
    expect(sendCancelled.json().error.code).toBe('campaign_cancelled');
  });
});
