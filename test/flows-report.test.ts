import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/index.ts';
import { newcombeInterval, twoProportionZTest } from '../src/campaigns/statistics.ts';
import type { Database } from '../src/db/index.ts';
import {
  createFlow,
  flowReport,
  renderFlowReport,
  SimulatedClock,
  setFlowEnabled,
  tick,
} from '../src/flows/index.ts';
import { loadCustomers } from './campaigns-fixture.ts';
import { addOrder, addProduct, recordingMailer, runFor } from './flows-fixture.ts';
import { openTestDatabase } from './helpers/database.ts';

const DAY = 86_400_000;

/**
 * 120 customers enter a flow with a 50 % holdout; ids divisible by 7 never agreed to e-mail. Planted
 * purchases: treated customers with id % 3 = 0 and held-out customers with id % 5 = 0 buy on day 5; customer
 * ids 1 and 2 buy on day 40 (outside the 30-day goal window). The report's counts are checked against the
 * sets computed here.
 */
describe('flow report: per-step counts, suppression reasons, goal vs holdout', () => {
  let database: Database;
  const clock = new SimulatedClock('2026-05-01T00:00:00Z');
  let flowId: number;

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadCustomers(
      database,
      Array.from({ length: 120 }, (_, i) => ({
        id: i + 1,
        name: `R${i + 1}`,
        consents: { email: (i + 1) % 7 !== 0 },
      })),
    );
    const flow = await createFlow(
      database,
      {
        name: 'Measured',
        definition: {
          trigger: { type: 'event', name: 'signed_up' },
          goal: { kind: 'purchase', windowDays: 30 },
          holdoutShare: 0.5,
          seed: 11,
          steps: [
            { kind: 'send', label: 'hello', subject: 'Hello', bodyText: 'hi' },
            { kind: 'wait', days: 60 },
            { kind: 'send', subject: 'Later', bodyText: 'later' },
          ],
        },
      },
      CLI_ACTOR,
    );
    flowId = flow.id;
    await setFlowEnabled(database, flow.id, true, clock);
  });
  afterAll(() => database.close());

  it('counts what each step did and measures the goal the same way in both groups', async () => {
    clock.advance({ minutes: 1 });
    const occurred = clock.now();
    await database.db
      .insertInto('flow_events')
      .values(
        Array.from({ length: 120 }, (_, i) => ({
          customer_id: i + 1,
          name: 'signed_up',
          occurred_at: occurred,
        })),
      )
      .execute();
    clock.advance({ minutes: 1 });
    const mailer = recordingMailer();
    await tick(database, { clock, mailer });
    const rows = await database.db
      .selectFrom('flow_enrollments')
      .select(['customer_id', 'holdout'])
      .execute();
    const held = new Set(rows.filter((r) => r.holdout).map((r) => r.customer_id));
    const treated = rows.filter((r) => !r.holdout).map((r) => r.customer_id);
    expect(held.size + treated.length).toBe(120);

    const product = await addProduct(database, 'P', 'any');
    const converters = [...treated.filter((id) => id % 3 === 0), ...[...held].filter((id) => id % 5 === 0)];
    for (const id of converters)
      await addOrder(database, id, new Date(occurred.getTime() + 5 * DAY), product);
    for (const id of [1, 2]) await addOrder(database, id, new Date(occurred.getTime() + 40 * DAY), product);
    await runFor(database, clock, mailer, 45, 24);

    const report = await flowReport(database, flowId, { now: clock.now() });
    const noConsent = treated.filter((id) => id % 7 === 0).length;
    const treatedConverted = treated.filter((id) => id % 3 === 0).length;
    const heldConverted = [...held].filter((id) => id % 5 === 0).length;
    expect(report.entered).toBe(treated.length);
    expect(report.heldOut).toBe(held.size);
    // Everyone treated is past the first send; converters left at the goal check before the wait.
    const first = report.steps.find((s) => s.index === 0)!;
    expect(first).toMatchObject({
      kind: 'send',
      label: 'hello',
      executed: treated.length,
      sent: treated.length - noConsent,
      suppressed: noConsent,
      suppressedReasons: { 'no_consent:email': noConsent },
      failed: 0,
    });
    const wait = report.steps.find((s) => s.index === 1)!;
    // The wait ran for everyone at once (before any purchase); the next send waits for day 60.
    expect(wait.executed).toBe(treated.length);
    const last = report.steps.find((s) => s.index === 2)!;
    expect(last.waiting).toBe(treated.length);
    expect(last.executed).toBe(0);
    expect(report.states).toEqual({ active: treated.length, held_out: held.size });

    expect(report.goal).not.toBeNull();
    const goal = report.goal!;
    expect(goal.treated).toMatchObject({ customers: treated.length, converted: treatedConverted });
    expect(goal.holdout).toMatchObject({ customers: held.size, converted: heldConverted });
    const expectedDifference = treatedConverted / treated.length - heldConverted / held.size;
    expect(goal.difference!.value).toBeCloseTo(expectedDifference, 12);
    const newcombe = newcombeInterval(treatedConverted, treated.length, heldConverted, held.size)!;
    expect(goal.difference!.lower).toBeCloseTo(newcombe.lower, 12);
    expect(goal.difference!.upper).toBeCloseTo(newcombe.upper, 12);
    expect(goal.pValue).toBeCloseTo(
      twoProportionZTest(treatedConverted, treated.length, heldConverted, held.size)!.pValue,
      12,
    );

    // After day 60 the converters leave at the goal check; the others get the second mail.
    await runFor(database, clock, mailer, 20, 24);
    const after = await flowReport(database, flowId, { now: clock.now() });
    const convertedTreated = treated.filter((id) => id % 3 === 0 || id === 1 || id === 2).length;
    expect(after.goalReached).toBe(convertedTreated);
    const second = after.steps.find((s) => s.index === 2)!;
    expect(second.executed).toBe(treated.length - convertedTreated);
    // Customers 1 and 2 bought on day 40: they reached the goal (a purchase since entry) but outside the
    // 30-day window the lift measures, so the goal conversion is unchanged.
    expect(after.goal!.treated.converted).toBe(treatedConverted);
    const text = renderFlowReport(after);
    expect(text).toContain(`Entered ${treated.length}  held out ${held.size}`);
    expect(text).toContain('no_consent:email');
    expect(text).toContain('lift ');
  });
});
