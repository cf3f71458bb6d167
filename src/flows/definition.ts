import { z } from 'zod';
import { TIER_VALUES } from '../campaigns/contact-policy.ts';
import { KizunaError } from '../errors.ts';
import { parseRules, type RuleNode, RuleTreeInput } from '../segments/index.ts';
import { isTimeZone, WEEKDAYS } from './local-time.ts';

/**
 * A flow's definition (one version): what starts it (trigger), what it does (steps, in order), when a
 * customer leaves early (goal), and the share held out for measuring the lift. Branches jump forward only
 * (ifMatch / otherwise: a later step's `id`, or 'exit'), so every path is finite and each step runs at most once per
 * enrollment.
 */

const StepId = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a step id is lower-case letters, digits, - and _ (max 40)');
const Target = z.union([StepId, z.literal('exit')]);
const PositiveIds = z.array(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)).min(1).max(1000);
const Texts = z.array(z.string().trim().min(1).max(200)).min(1).max(100);
const Tier = z.enum(TIER_VALUES);
const Time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time is HH:MM (24 h)');

export const TriggerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('first_purchase') }),
  z.strictObject({ type: z.literal('nth_purchase'), n: z.number().int().min(2).max(1000) }),
  z
    .strictObject({
      type: z.literal('product_purchase'),
      productIds: PositiveIds.optional(),
      categories: Texts.optional(),
    })
    .refine((t) => t.productIds !== undefined || t.categories !== undefined, {
      message: 'name productIds or categories',
      path: ['productIds'],
    }),
  z.strictObject({ type: z.literal('birthday') }),
  z.strictObject({ type: z.literal('anniversary') }),
  z.strictObject({
    type: z.literal('lapsed'),
    factor: z.number().min(1).max(20).default(2),
    minDays: z.number().int().min(1).max(3650).default(60),
    minOrders: z.number().int().min(2).max(1000).default(3),
  }),
  z
    .strictObject({ type: z.literal('tier_change'), into: Tier.optional(), from: Tier.optional() })
    .refine((t) => t.into !== undefined || t.from !== undefined, {
      message: 'name the tier entered (into) or left (from)',
      path: ['into'],
    }),
  z.strictObject({
    type: z.literal('ticket_resolved'),
    kinds: z
      .array(z.enum(['inquiry', 'request', 'complaint', 'suggestion', 'call']))
      .min(1)
      .optional(),
  }),
  z.strictObject({ type: z.literal('event'), name: z.string().trim().min(1).max(100) }),
  z.strictObject({ type: z.literal('segment_entered'), segmentId: z.number().int().positive() }),
]);
export type Trigger = z.output<typeof TriggerSchema>;
export const TRIGGER_TYPES: readonly Trigger['type'][] = [
  'first_purchase',
  'nth_purchase',
  'product_purchase',
  'birthday',
  'anniversary',
  'lapsed',
  'tier_change',
  'ticket_resolved',
  'event',
  'segment_entered',
];

const base = { id: StepId.optional(), label: z.string().max(200).optional() };

export const StepSchema = z.discriminatedUnion('kind', [
  z
    .strictObject({
      ...base,
      kind: z.literal('wait'),
      days: z.number().min(0).max(3650).optional(),
      hours: z.number().min(0).max(87_600).optional(),
      minutes: z.number().min(0).max(5_256_000).optional(),
      until: z
        .strictObject({ weekday: z.enum(WEEKDAYS).optional(), time: Time })
        .optional()
        .describe("then on to the next such weekday/time in the customer's time zone"),
      cycle: z
        .strictObject({
          beforeDays: z.number().int().min(0).max(365).default(0),
          fallbackDays: z.number().int().min(1).max(3650).default(30),
        })
        .optional()
        .describe(
          "until the purchase's repurchase cycle (product repurchase_cycle_days, else the customer's own interval) less beforeDays",
        ),
    })
    .refine(
      (w) =>
        w.days !== undefined ||
        w.hours !== undefined ||
        w.minutes !== undefined ||
        w.until !== undefined ||
        w.cycle !== undefined,
      { message: 'a wait needs days/hours/minutes, until or cycle', path: ['days'] },
    ),
  z.strictObject({
    ...base,
    kind: z.literal('send'),
    channel: z.literal('email').default('email'),
    purpose: z.enum(['marketing', 'follow_up']).default('marketing'),
    subject: z.string().trim().min(1).max(300),
    bodyText: z.string().min(1).max(50_000),
    bodyHtml: z.string().max(200_000).optional(),
    cost: z.number().min(0).max(100_000).default(0),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('branch'),
    rules: RuleTreeInput,
    ifMatch: Target.optional().describe('where a customer who matches goes; default the next step'),
    otherwise: Target.optional().describe('where the others go; default the next step'),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('task'),
    title: z.string().trim().min(1).max(200),
    prompt: z.string().max(5000).optional(),
    dueDays: z.number().int().min(0).max(365).default(0),
    assignTo: z.enum(['account_owner', 'nobody']).default('account_owner'),
  }),
  z
    .strictObject({
      ...base,
      kind: z.literal('tag'),
      add: Texts.optional(),
      remove: Texts.optional(),
      fields: z
        .record(
          z.string().min(1).max(100),
          z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]),
        )
        .optional(),
    })
    .refine((t) => t.add || t.remove || t.fields, {
      message: 'a tag step adds or removes tags, or sets fields',
      path: ['add'],
    }),
  z.strictObject({ ...base, kind: z.literal('exit'), reason: z.string().max(100).optional() }),
]);
export type Step = z.output<typeof StepSchema>;
export type SendStep = Extract<Step, { kind: 'send' }>;
export type WaitStep = Extract<Step, { kind: 'wait' }>;

export const GoalSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('purchase'),
    windowDays: z.number().int().min(1).max(3650).default(60),
  }),
  z.strictObject({
    kind: z.literal('rules'),
    rules: RuleTreeInput,
    windowDays: z.number().int().min(1).max(3650).default(60),
  }),
]);

export const DefinitionSchema = z.strictObject({
  trigger: TriggerSchema,
  steps: z.array(StepSchema).min(1).max(50),
  goal: GoalSchema.nullable().default(null),
  holdoutShare: z.number().min(0).max(0.5).default(0),
  seed: z.number().int().min(0).max(2_147_483_647).default(1),
  timezone: z
    .string()
    .refine(isTimeZone, 'an IANA time zone such as Asia/Tokyo')
    .optional()
    .describe("the zone for waits when a customer's home store has none; default Asia/Tokyo"),
});

/** A parsed definition, with branches resolved to step indexes and rule trees checked. */
export type FlowDefinition = Omit<z.output<typeof DefinitionSchema>, 'goal' | 'steps'> & {
  steps: Step[];
  goal:
    | null
    | { kind: 'purchase'; windowDays: number }
    | { kind: 'rules'; rules: RuleNode; windowDays: number };
};

/** Where a branch leads: a step index, or -1 for exit. */
export function targetIndex(definition: FlowDefinition, from: number, target: string | undefined): number {
  if (target === undefined) return from + 1;
  if (target === 'exit') return -1;
  return definition.steps.findIndex((s) => s.id === target);
}

/** Validates a definition; a mistake names its field (`steps.2.then: …`). */
export function parseDefinition(input: unknown, root?: string): FlowDefinition {
  const at = (path: string) => (root ? `${root}.${path}` : path);
  const result = DefinitionSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = at(issue.path.map(String).join('.')) || root || 'definition';
    throw new KizunaError('invalid_request', `${field}: ${issue.message}`, { field, status: 400 });
  }
  const value = result.data;
  const ids = new Map<string, number>();
  value.steps.forEach((step, i) => {
    if (step.id === undefined) return;
    if (ids.has(step.id)) {
      throw new KizunaError('invalid_request', `${at(`steps.${i}.id`)}: "${step.id}" is used twice`, {
        field: at(`steps.${i}.id`),
      });
    }
    ids.set(step.id, i);
  });
  const steps = value.steps.map((step, i) => {
    if (step.kind !== 'branch') return step;
    for (const key of ['ifMatch', 'otherwise'] as const) {
      const target = step[key];
      if (target === undefined || target === 'exit') continue;
      const index = ids.get(target);
      if (index === undefined || index <= i) {
        throw new KizunaError(
          'invalid_request',
          `${at(`steps.${i}.${key}`)}: "${target}" must be the id of a later step (branches jump forward only)`,
          { field: at(`steps.${i}.${key}`) },
        );
      }
    }
    return { ...step, rules: parseRules(step.rules, at(`steps.${i}.rules`)) };
  });
  const goal =
    value.goal?.kind === 'rules'
      ? { ...value.goal, rules: parseRules(value.goal.rules, at('goal.rules')) }
      : value.goal;
  return { ...value, steps, goal };
}
