import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../../src/auth/index.ts';
import { type MailCatcher, startMailCatcher } from '../../src/campaigns/index.ts';
import type { Database } from '../../src/db/index.ts';
import {
  BUILTIN_FLOWS,
  enableBuiltinFlow,
  SimulatedClock,
  type StepMailer,
  smtpStepMailer,
  updateFlow,
} from '../../src/flows/index.ts';
import { flowReport } from '../../src/flows/report.ts';
import { loadCustomers } from '../campaigns-fixture.ts';
import { addOrder, addProduct, runFor } from '../flows-fixture.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 7 (SCENARIOS.md): a new customer buys for the first time → day 1 thanks, day 7 useful
 * information, day 30 an invitation back; if they buy again on day 12, the flow stops for them.
 *
 * The built-in welcome series, switched on, over a real SMTP server (the local catcher). Mika buys once;
 * Naoki buys once and again on day 12. A simulated clock runs 35 days of the worker in a few seconds.
 */
describe('scenario 7: step mail after the first purchase', () => {
  let database: Database;
  let catcher: MailCatcher;
  let mailer: StepMailer;
  const clock = new SimulatedClock('2026-04-01T00:00:00Z');

  beforeAll(async () => {
    database = await openTestDatabase();
    catcher = await startMailCatcher({ port: 0 });
    mailer = smtpStepMailer(database, { smtpUrl: catcher.url });
    await loadCustomers(database, [
      { id: 1, name: 'Mika', consents: { email: true } },
      { id: 2, name: 'Naoki', consents: { email: true } },
    ]);
    const welcome = BUILTIN_FLOWS.find((b) => b.key === 'welcome')!;
    const flow = await enableBuiltinFlow(database, 'welcome', CLI_ACTOR, clock);
    // The scenario follows both customers: no holdout in this run.
    await updateFlow(
      database,
      flow.id,
      { definition: { ...welcome.definition, holdoutShare: 0 } },
      CLI_ACTOR,
    );
  });
  afterAll(async () => {
    await mailer.close();
    await catcher.close();
    await database.close();
  });

  it('Mika gets three mails on days 1, 7 and 30; Naoki buys again on day 12 and gets no day-30 mail', async () => {
    const mug = await addProduct(database, 'MUG-1', 'kitchen');
    const firstPurchase = new Date('2026-04-01T02:00:00Z');
    await addOrder(database, 1, firstPurchase, mug);
    await addOrder(database, 2, firstPurchase, mug);
    await runFor(database, clock, mailer, 12, 2);
    await addOrder(database, 2, new Date(firstPurchase.getTime() + 12 * 86_400_000), mug);
    await runFor(database, clock, mailer, 23, 2);

    const mails = await catcher.list();
    const to = (address: string) =>
      mails
        .filter((m) => m.to.includes(address))
        .sort((a, b) => a.id - b.id)
        .map((m) => m.subject);
    expect(to('mika@example.jp')).toEqual([
      'Thank you for your first visit',
      'Getting the most out of your purchase',
      'We would be glad to see you again',
    ]);
    expect(to('naoki@example.jp')).toEqual([
      'Thank you for your first visit',
      'Getting the most out of your purchase',
    ]);
    const thanks = mails.find((m) => m.to.includes('mika@example.jp') && m.subject.startsWith('Thank you'))!;
    expect(thanks.text).toContain('Dear Mika');
    expect(thanks.text).toContain('for your Product MUG-1');
    expect(thanks.headers['list-unsubscribe']).toMatch(/^<http:\/\/.+\/u\/.+>$/);
    expect(thanks.messageId).toMatch(/^<f\d+\.s1@kizuna>$/);

    // Sent on the days the scenario names, counted from the first purchase (ticks every 2 hours).
    const touches = await database.db
      .selectFrom('touches')
      .select(['customer_id', 'sent_at', 'channel'])
      .orderBy('customer_id')
      .orderBy('sent_at')
      .execute();
    const days = touches
      .filter((t) => t.customer_id === 1)
      .map((t) => Math.floor((t.sent_at.getTime() - firstPurchase.getTime()) / 86_400_000));
    expect(days).toEqual([1, 7, 30]);
    expect(new Set(touches.map((t) => t.channel))).toEqual(new Set(['step_mail']));

    const report = await flowReport(database, 'Welcome series', { now: clock.now() });
    expect(report.entered).toBe(2);
    expect(report.goalReached).toBe(1);
    expect(report.states).toMatchObject({ completed: 1, goal: 1 });
    const sends = report.steps.filter((s) => s.kind === 'send').map((s) => s.sent);
    expect(sends).toEqual([2, 2, 1]);
  });
});
