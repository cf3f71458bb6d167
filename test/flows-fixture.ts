import type { Database } from '../src/db/index.ts';
import type { SimulatedClock } from '../src/flows/clock.ts';
import type { StepMail, StepMailer, StepMailOutcome } from '../src/flows/mailer.ts';
import { stepMessageId } from '../src/flows/mailer.ts';
import { type TickResult, tick } from '../src/flows/worker.ts';

/** A mailer that records each mail it was asked to send; `fail` decides an outcome per mail (default sent). */
export function recordingMailer(
  fail?: (mail: StepMail, attempt: number) => StepMailOutcome['outcome'] | null,
): StepMailer & { sent: Array<StepMail & { messageId: string; at: number }> } {
  const sent: Array<StepMail & { messageId: string; at: number }> = [];
  const attempts = new Map<string, number>();
  return {
    sent,
    async send(mails) {
      return mails.map((mail) => {
        const messageId = stepMessageId(mail.enrollmentId, mail.stepIndex);
        const attempt = (attempts.get(messageId) ?? 0) + 1;
        attempts.set(messageId, attempt);
        const outcome = fail?.(mail, attempt) ?? 'sent';
        if (outcome === 'sent') sent.push({ ...mail, messageId, at: Date.now() });
        return {
          customerId: mail.customerId,
          enrollmentId: mail.enrollmentId,
          outcome,
          subject: mail.step.subject,
          error: outcome === 'sent' ? undefined : `simulated ${outcome}`,
        };
      });
    },
    async close() {},
  };
}

let orderNo = 0;

/** A product; returns its id. */
export async function addProduct(
  database: Database,
  sku: string,
  category: string,
  repurchaseCycleDays: number | null = null,
): Promise<number> {
  const row = await database.db
    .insertInto('products')
    .values({
      sku,
      name: `Product ${sku}`,
      category,
      price: 1000,
      repurchase_cycle_days: repurchaseCycleDays,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** An order of one line; returns the order id. */
export async function addOrder(
  database: Database,
  customerId: number,
  at: Date,
  productId: number,
): Promise<number> {
  orderNo++;
  const order = await database.db
    .insertInto('orders')
    .values({
      customer_id: customerId,
      external_id: `flow-test-${orderNo}-${Math.random()}`,
      ordered_at: at,
      total: 1000,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await database.db
    .insertInto('order_lines')
    .values({
      customer_id: customerId,
      order_id: order.id,
      line_no: 1,
      product_id: productId,
      quantity: 1,
      unit_price: 1000,
      amount: 1000,
    })
    .execute();
  return Number(order.id);
}

/** Moves the clock forward in steps of `stepHours`, ticking the worker after each, until `days` have passed. */
export async function runFor(
  database: Database,
  clock: SimulatedClock,
  mailer: StepMailer,
  days: number,
  stepHours = 6,
): Promise<TickResult[]> {
  const results: TickResult[] = [];
  const end = clock.now().getTime() + days * 86_400_000;
  while (clock.now().getTime() < end) {
    clock.advance({ hours: stepHours });
    results.push(await tick(database, { clock, mailer }));
  }
  return results;
}

export const touchesOf = async (database: Database, customerId: number) =>
  database.db
    .selectFrom('touches')
    .select(['channel', 'flow', 'subject', 'sent_at', 'external_id'])
    .where('customer_id', '=', customerId)
    .orderBy('sent_at')
    .execute();
