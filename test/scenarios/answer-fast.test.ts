import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../../src/api/server.ts';
import type { Database } from '../../src/db/index.ts';
import { loadDemo } from '../../src/demo/load-demo.ts';
import { DEFAULT_AS_OF } from '../../src/demo/params.ts';
import { signInAs } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 10 (SCENARIOS.md) on the demo retailer, through the API: the service lead opens the desk →
 * tickets breaching their business-hours SLA first; agent measures are satisfaction and the customers'
 * return rate after contact, not sales; the response-time report shows whether slow answers lost
 * customers (the demo plants that they did: src/demo/interactions.ts SERVICE_RESPONSE_EFFECT).
 */
describe('scenario 10: answer fast', () => {
  let database: Database;
  let app: KizunaServer;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 3000, seed: 9 });
    app = buildServer(database);
    await app.ready();
  }, 300_000);
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('breaching tickets first, measures without sales, and the response-time report', async () => {
    const lead = await signInAs(app, database, 'manager', { code: 'service-lead' });
    const agent = await signInAs(app, database, 'service_agent', { code: 'agent-new' });
    const customer = await database.db
      .selectFrom('customers')
      .select('id')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const open = async (priority: string, daysAgo: number, subject: string) =>
      (
        await app.inject({
          method: 'POST',
          url: `/api/customers/${customer.id}/tickets`,
          headers: agent.headers,
          payload: {
            kind: 'complaint',
            channel: 'email',
            priority,
            subject,
            body: '…',
            openedAt: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
          },
        })
      ).json().ticket;
    const older = await open('urgent', 9, '返品の返金がまだ');
    const newer = await open('normal', 6, '配送の遅れ');

    // The desk: breaching tickets, soonest due first; ours are among them, the older one first.
    const desk = await app.inject({ method: 'GET', url: '/api/tickets/breaching', headers: lead.headers });
    expect(desk.statusCode).toBe(200);
    const tickets = desk.json().tickets as { id: number; dueAt: string; sla: { worst: string } }[];
    expect(tickets.every((t) => t.sla.worst === 'breached' || t.sla.worst === 'near_breach')).toBe(true);
    const due = tickets.map((t) => Date.parse(t.dueAt));
    expect(due).toEqual([...due].sort((a, b) => a - b));
    const position = (id: number) => tickets.findIndex((t) => t.id === id);
    expect(position(older.id)).toBeGreaterThanOrEqual(0);
    expect(position(older.id)).toBeLessThan(position(newer.id));

    // Agent measures: satisfaction, times, SLA and the return rate after contact — no sales figure.
    const from = new Date(DEFAULT_AS_OF.getTime() - 2 * 365 * 86_400_000).toISOString();
    const measures = await app.inject({
      method: 'GET',
      url: `/api/service/measures?from=${from}&to=${DEFAULT_AS_OF.toISOString()}&asOf=${DEFAULT_AS_OF.toISOString()}`,
      headers: lead.headers,
    });
    expect(measures.statusCode).toBe(200);
    const body = measures.json();
    expect(body.groups.length).toBeGreaterThan(1);
    expect(Object.keys(body.total).sort()).toEqual(
      [
        'businessFirstResponseMinutes',
        'businessResolutionMinutes',
        'csat',
        'firstResponseMinutes',
        'id',
        'name',
        'resolutionMinutes',
        'resolved',
        'returnAfterContact',
        'sla',
        'tickets',
      ].sort(),
    );
    expect(JSON.stringify(body)).not.toMatch(/revenue|sales|spend|total_amount/i);
    const [back90] = body.total.returnAfterContact;
    expect(back90.matched).toBeGreaterThan(100);
    expect(back90.rate).toBeGreaterThan(0);
    expect(back90.comparisonRate).toBeGreaterThan(0);

    // The response-time report: the slow answers lost customers.
    const report = await app.inject({
      method: 'GET',
      url: `/api/service/retention-report?from=${new Date(DEFAULT_AS_OF.getTime() - 3 * 365 * 86_400_000).toISOString()}&to=${DEFAULT_AS_OF.toISOString()}&asOf=${DEFAULT_AS_OF.toISOString()}&churnDays=180&channels=email,web,letter`,
      headers: lead.headers,
    });
    expect(report.statusCode).toBe(200);
    const buckets = report.json().buckets as { bucket: string; churn: { rate: number } }[];
    const churn = (label: string) => buckets.find((b) => b.bucket === label)!.churn.rate;
    expect(churn('>=24h')).toBeGreaterThan(churn('1-4h'));
  }, 300_000);
});
