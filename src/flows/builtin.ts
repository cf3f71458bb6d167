import type { Actor } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import type { Clock } from './clock.ts';
import { createFlow, type Flow, getFlow, setFlowEnabled } from './flows.ts';

/**
 * Flows for the sources' cases, ready to switch on (`kizuna flow enable welcome`). Each is created
 * (disabled) the first time it is asked for and can then be edited like any flow (a new version).
 * Texts are Liquid templates with the campaign mail variables (customer.name, favourite_category,
 * last_purchase.product, …); the unsubscribe link is added to every mail.
 */
export type BuiltinFlow = {
  key: string;
  name: string;
  description: string;
  definition: Record<string, unknown>;
};

const FOLLOW_UP_MAIL = `Dear {{ customer.name | default: "customer" }},

A few days ago we settled the matter you raised with us{% if trigger.subject %} ({{ trigger.subject }}){% endif %}.
Is everything all right now? Simply reply to this mail if anything is still not as it should be.`;

export const BUILTIN_FLOWS: readonly BuiltinFlow[] = [
  {
    key: 'welcome',
    name: 'Welcome series',
    description:
      'After the first purchase: day 1 thanks, day 7 useful information, day 30 an invitation back. Goal: a second purchase (the customer leaves the flow when they buy again). 10 % held out for the lift.',
    definition: {
      trigger: { type: 'first_purchase' },
      goal: { kind: 'purchase', windowDays: 60 },
      holdoutShare: 0.1,
      steps: [
        { id: 'day-1', kind: 'wait', days: 1, label: 'day 1' },
        {
          kind: 'send',
          label: 'thanks',
          subject: 'Thank you for your first visit',
          bodyText:
            'Dear {{ customer.name | default: "customer" }},\n\nThank you for choosing us{% if last_purchase.product %} for your {{ last_purchase.product }}{% endif %}. We hope you enjoy it.',
        },
        { id: 'day-7', kind: 'wait', days: 6, label: 'day 7' },
        {
          kind: 'send',
          label: 'useful information',
          subject: 'Getting the most out of your purchase',
          bodyText:
            'Dear {{ customer.name | default: "customer" }},\n\nA few tips on care and use{% if favourite_category %} for {{ favourite_category }}{% endif %}. Our staff are glad to help at any store.',
        },
        { id: 'day-30', kind: 'wait', days: 23, label: 'day 30' },
        {
          kind: 'send',
          label: 'invitation back',
          subject: 'We would be glad to see you again',
          bodyText:
            'Dear {{ customer.name | default: "customer" }},\n\nIt has been a month since your first visit. We would be glad to welcome you back.',
        },
      ],
    },
  },
  {
    key: 'repeat_cycle',
    name: 'Repeat-cycle reminder',
    description:
      "After a contact-lens purchase: a reminder 7 days before the product's repurchase cycle ends (its repurchase_cycle_days; else the customer's own interval; else 30 days). Goal: the next purchase.",
    definition: {
      trigger: { type: 'product_purchase', categories: ['contact_lenses'] },
      goal: { kind: 'purchase', windowDays: 90 },
      holdoutShare: 0.1,
      steps: [
        {
          kind: 'wait',
          cycle: { beforeDays: 7, fallbackDays: 30 },
          until: { time: '10:00' },
          label: 'near the cycle',
        },
        {
          kind: 'send',
          label: 'reminder',
          subject: 'Time for new lenses soon',
          bodyText:
            'Dear {{ customer.name | default: "customer" }},\n\nYour {{ last_purchase.product | default: "lenses" }} will run out in about a week. Reorder at your store, or drop in for a check-up.',
        },
      ],
    },
  },
  {
    key: 'win_back',
    name: 'Win-back for lapsing regulars',
    description:
      'A regular (3+ purchases) whose time since the last purchase passes twice their own interval (at least 60 days): a "we miss you" mail, and two weeks later a second one for those not yet back. Goal: a purchase.',
    definition: {
      trigger: { type: 'lapsed', factor: 2, minDays: 60, minOrders: 3 },
      goal: { kind: 'purchase', windowDays: 60 },
      holdoutShare: 0.1,
      steps: [
        {
          kind: 'send',
          label: 'we miss you',
          subject: 'We miss you',
          bodyText:
            'Dear {{ customer.name | default: "customer" }},\n\nWe have not seen you for a while{% if favourite_category %} — there is something new in {{ favourite_category }}{% endif %}.',
        },
        { kind: 'wait', days: 14 },
        {
          kind: 'send',
          label: 'second reminder',
          subject: 'Still thinking of you',
          bodyText:
            'Dear {{ customer.name | default: "customer" }},\n\nWe would be glad to see you again at your store.',
        },
      ],
    },
  },
  {
    key: 'loyal_welcome',
    name: 'Loyal welcome',
    description:
      'A customer who becomes loyal gets a thank-you mail and a staff task for a personal thank-you (a follow-up, never a sales call).',
    definition: {
      trigger: { type: 'tier_change', into: 'loyal' },
      steps: [
        {
          kind: 'send',
          label: 'thank you',
          subject: 'Thank you for your loyalty',
          bodyText:
            'Dear {{ customer.name | default: "customer" }},\n\nYou are one of our most valued customers. Thank you.',
        },
        {
          kind: 'task',
          title: 'Personal thank-you to a new loyal customer',
          prompt: 'Call or greet them at the next visit to thank them personally. Not a sales call.',
          dueDays: 3,
          assignTo: 'account_owner',
        },
        { kind: 'tag', add: ['loyal-welcomed'] },
      ],
    },
  },
  {
    key: 'post_complaint',
    name: 'Post-complaint follow-up',
    description:
      'A resolved complaint: three days later a "is everything all right now?" mail (purpose follow-up, so the complaint quiet period does not hold it back); for loyal and semi-loyal customers a staff task for a personal call. The 14-day follow-up task of the ticket itself is the service desk\'s (follow_ups).',
    definition: {
      trigger: { type: 'ticket_resolved', kinds: ['complaint'] },
      steps: [
        { kind: 'wait', days: 3, until: { time: '10:00' } },
        {
          kind: 'send',
          purpose: 'follow_up',
          label: 'how is it now?',
          subject: 'Is everything all right now?',
          bodyText: FOLLOW_UP_MAIL,
        },
        {
          kind: 'branch',
          rules: { kind: 'tier', tiers: ['loyal', 'semi_loyal'] },
          otherwise: 'exit',
        },
        {
          kind: 'task',
          title: 'Personal call after a resolved complaint',
          prompt: 'Ask how things are now; record the answer. Not a sales call.',
          dueDays: 1,
        },
      ],
    },
  },
];

export function builtinFlow(key: string): BuiltinFlow {
  const found = BUILTIN_FLOWS.find((b) => b.key === key);
  if (!found) {
    throw new KizunaError(
      'not_found',
      `No built-in flow ${key}; there are ${BUILTIN_FLOWS.map((b) => b.key).join(', ')}`,
      { status: 404 },
    );
  }
  return found;
}

/** The flow made from a built-in (created, disabled, on first use). */
export async function installBuiltinFlow(database: Database, key: string, actor: Actor): Promise<Flow> {
  const builtin = builtinFlow(key);
  const existing = await database.db
    .selectFrom('flows')
    .select('id')
    .where('builtin', '=', key)
    .executeTakeFirst();
  if (existing) return getFlow(database, Number(existing.id));
  return createFlow(
    database,
    { name: builtin.name, description: builtin.description, definition: builtin.definition },
    actor,
    { builtin: key },
  );
}

/** Installs (when needed) and switches on a built-in flow. */
export async function enableBuiltinFlow(
  database: Database,
  key: string,
  actor: Actor,
  clock?: Clock,
): Promise<Flow> {
  const flow = await installBuiltinFlow(database, key, actor);
  return setFlowEnabled(database, flow.id, true, clock);
}
