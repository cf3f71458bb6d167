import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/index.ts';
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
import { loadCustomers } from '../campaigns-fixture.ts';
import { addOrder, addProduct, runFor, touchesOf } from '../flows-fixture.ts';
import { signInAs } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 8 (SCENARIOS.md): contact lenses bring people back. The owner opens the repeat-driver report →
 * the share of lens first-buyers who come back within 90 days, next to the share for glasses; the
 * repeat-cycle reminder flow fires near each lens customer's cycle.
 *
 * Hand-worked shop, report as of 2026-06-30. Everyone's first purchase is on 2026-01-10 (171 days before:
 * eligible for "within 90 days", not yet for 180):
 * - lenses (customers 1–10): 1–6 buy again on 2026-03-20 (69 days later), 7 on 2026-05-01 (111 days),
 *   8–10 never → 6 of 10 back within 90 days; median days to the next purchase of those back: 69;
 * - glasses (customers 11–20): 11 buys again on 2026-02-10 (31 days), the rest never → 1 of 10;
 * - all first purchases: 7 of 20 back within 90 days.
 * Then the built-in reminder (no holdout in this run) on a simulated clock from 2026-07-01: Aya (21) buys
 * lenses with a 90-day cycle at 12:00 Tokyo time; Ken (22) buys the same and comes back on day 60.
 * Aya's reminder: purchase + 90 − 7 days = 2026-09-22 12:00 JST, then the next 10:00 in Tokyo →
 * 2026-09-23 10:00 JST = 01:00 UTC. Ken reached the goal (a purchase within 90 days): no reminder.
 */
describe('scenario 8: contact lenses bring people back', () => {
  let database: Database;
  let app: FastifyInstance;
  let catcher: MailCatcher;
  let mailer: StepMailer;
  let lens: number;
  const clock = new SimulatedClock('2026-07-01T00:00:00Z');
  const at = (day: string) => new Date(`${day}T03:00:00Z`); // 12:00 in Tokyo

  beforeAll(async () => {
    database = await openTestDatabase();
    app = buildServer(database);
    catcher = await startMailCatcher({ port: 0 });
    mailer = smtpStepMailer(database, { smtpUrl: catcher.url });
    await loadCustomers(database, [
      ...Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `Customer${i + 1}` })),
      { id: 21, name: 'Aya', consents: { email: true } },
      { id: 22, name: 'Ken', consents: { email: true } },
    ]);
    lens = await addProduct(database, 'CL-90', 'contact_lenses', 90);
    const glasses = await addProduct(database, 'GL-1', 'glasses');
    for (let id = 1; id <= 10; id++) await addOrder(database, id, at('2026-01-10'), lens);
    for (let id = 11; id <= 20; id++) await addOrder(database, id, at('2026-01-10'), glasses);
    for (let id = 1; id <= 6; id++) await addOrder(database, id, at('2026-03-20'), lens);
    await addOrder(database, 7, at('2026-05-01'), lens);
    await addOrder(database, 11, at('2026-02-10'), glasses);
  });
  afterAll(async () => {
    await mailer.close();
    await catcher.close();
    await app.close();
    await database.close();
  });

  it('the repeat-driver report puts lenses (6 of 10 back within 90 days) next to glasses (1 of 10)', async () => {
    const { headers } = await signInAs(app, database, 'owner');
    const response = await app.inject({
      method: 'GET',
      url: '/api/reports/repeat-drivers?to=2026-06-30',
      headers,
    });
    expect(response.statusCode).toBe(200);
    const report = response.json() as {
      average: { within90: { eligible: number; cameBack: number; share: number } };
      categories: Array<{
        category: string;
        customers: number;
        within90: { eligible: number; cameBack: number; share: number };
        within180: { eligible: number };
        medianDaysToNext: number | null;
      }>;
    };
    const byCategory = new Map(report.categories.map((c) => [c.category, c]));
    const lenses = byCategory.get('contact_lenses')!;
    const glassesRow = byCategory.get('glasses')!;
    expect(lenses).toMatchObject({ customers: 10, within90: { eligible: 10, cameBack: 6, share: 0.6 } });
    expect(lenses.within180.eligible).toBe(0);
    expect(lenses.medianDaysToNext).toBe(69);
    expect(glassesRow).toMatchObject({ customers: 10, within90: { eligible: 10, cameBack: 1, share: 0.1 } });
    expect(glassesRow.medianDaysToNext).toBe(31);
    expect(report.average.within90).toMatchObject({ eligible: 20, cameBack: 7, share: 0.35 });
  });

  it("the reminder reaches Aya a week before her lenses' cycle ends, at 10:00 her time; Ken came back first", async () => {
    const builtin = BUILTIN_FLOWS.find((b) => b.key === 'repeat_cycle')!;
    const flow = await enableBuiltinFlow(database, 'repeat_cycle', CLI_ACTOR, clock);
    await updateFlow(
      database,
      flow.id,
      { definition: { ...builtin.definition, holdoutShare: 0 } },
      CLI_ACTOR,
    );
    await addOrder(database, 21, at('2026-07-01'), lens);
    await addOrder(database, 22, at('2026-07-01'), lens);
    await runFor(database, clock, mailer, 59, 24);
    await addOrder(database, 22, clock.now(), lens); // day 60: Ken is back
    await runFor(database, clock, mailer, 21, 24); // to 2026-09-19: nothing due yet
    expect(await catcher.list()).toHaveLength(0);
    await runFor(database, clock, mailer, 6, 3); // to 2026-09-25

    const mails = await catcher.list();
    expect(mails.map((m) => [m.to, m.subject])).toEqual([['aya@example.jp', 'Time for new lenses soon']]);
    expect(mails[0]!.text).toContain('Dear Aya');
    expect(mails[0]!.text).toContain('Product CL-90 will run out in about a week');
    const [touch] = await touchesOf(database, 21);
    // Ticks every 3 hours: the reminder falls due at 01:00 UTC and goes out at the first tick after it.
    expect(touch!.sent_at.toISOString()).toBe('2026-09-23T03:00:00.000Z');
    expect(await touchesOf(database, 22)).toEqual([]);
  });
});
