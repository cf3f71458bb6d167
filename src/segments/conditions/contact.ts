import { type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import type { CompileContext, ConditionKind, KeyedRows } from '../rules.ts';
import { days, rowsExist, windowStart } from '../rules.ts';
import { allOf } from './sql-parts.ts';

// Conditions on what passed between us and the customer: consents, touches (what we sent), interactions
// (what they told us) and the preference notebook. Everything is as of asOf: rows after it do not count.

const CONSENT_CHANNELS = ['email', 'sms', 'phone', 'letter'] as const;
const Consent = z.strictObject({ kind: z.literal('consent'), channel: z.enum(CONSENT_CHANNELS) });
type Consent = z.infer<typeof Consent>;

/** The latest row up to asOf, found in the history: granted, and no later row for the channel. */
const consentInHistory = (p: Consent, ctx: CompileContext) => sql<boolean>`exists (
    select 1 from consents k
    where k.customer_id = ${ctx.customerId} and k.channel = ${p.channel} and k.recorded_at <= ${ctx.asOf} and k.granted
      and not exists (
        select 1 from consents k2
        where k2.customer_id = k.customer_id and k2.channel = k.channel and k2.recorded_at <= ${ctx.asOf}
          and (k2.recorded_at > k.recorded_at or (k2.recorded_at = k.recorded_at and k2.id > k.id))))`;

/**
 * The consent in force is the latest recorded for the channel (by time, then id); granted or not. When no
 * consent is recorded after asOf it is the row kept in `consents_in_force`.
 */
export const consent: ConditionKind<Consent> = {
  kind: 'consent',
  summary: 'the consent in force for a channel (email, sms, phone, letter) is granted',
  schema: Consent,
  compile: (p, ctx) =>
    ctx.consentsAfterAsOf
      ? consentInHistory(p, ctx)
      : sql<boolean>`exists (select 1 from consents_in_force k where k.customer_id = ${ctx.customerId} and k.channel = ${p.channel} and k.granted)`,
  evaluate: (p, { consents }, { asOf }) => {
    let latest: (typeof consents)[number] | null = null;
    for (const k of consents) {
      if (k.channel !== p.channel || k.recorded_at > asOf) continue;
      if (
        latest === null ||
        k.recorded_at > latest.recorded_at ||
        (k.recorded_at.getTime() === latest.recorded_at.getTime() && k.id > latest.id)
      ) {
        latest = k;
      }
    }
    return latest?.granted ?? false;
  },
};

const TOUCH_CHANNELS = ['email', 'letter', 'dm', 'newsletter', 'step_mail', 'phone', 'sms'] as const;
const Touch = z.strictObject({
  kind: z.literal('touch'),
  campaign: z.string().min(1).max(200).optional(),
  variant: z.string().min(1).max(200).optional(),
  channels: z.array(z.enum(TOUCH_CHANNELS)).min(1).optional(),
  withinDays: days.optional(),
  opened: z.boolean().optional(),
  clicked: z.boolean().optional(),
});
type Touch = z.infer<typeof Touch>;

/**
 * Opened / clicked by asOf, or not. Only ever a test in a WHERE clause, where NULL counts as false: so
 * "by asOf" is `<=` alone. With `is not null and …` PostgreSQL counts the share of NULLs twice and
 * expects 30 times fewer rows than there are (423 clicks of a campaign against 46,032 at 1 M), and then
 * starts a count from them.
 */
function touchEvent(column: 'opened_at' | 'clicked_at', wanted: boolean, asOf: Date): RawBuilder<unknown> {
  const ref = sql.ref(`t.${column}`);
  return wanted ? sql`${ref} <= ${asOf}` : sql`(${ref} is null or ${ref} > ${asOf})`;
}

function touchRows(p: Touch, ctx: CompileContext): KeyedRows {
  const parts: RawBuilder<unknown>[] = [sql`t.sent_at <= ${ctx.asOf}`];
  if (p.campaign !== undefined) parts.push(sql`t.campaign = ${p.campaign}`);
  if (p.variant !== undefined) parts.push(sql`t.variant = ${p.variant}`);
  if (p.channels !== undefined) parts.push(sql`t.channel = any(${[...p.channels]}::text[])`);
  if (p.withinDays !== undefined) parts.push(sql`t.sent_at > ${windowStart(ctx.asOf, p.withinDays)}`);
  if (p.opened !== undefined) parts.push(touchEvent('opened_at', p.opened, ctx.asOf));
  if (p.clicked !== undefined) parts.push(touchEvent('clicked_at', p.clicked, ctx.asOf));
  return { from: sql`touches t`, customer: sql.ref('t.customer_id'), where: allOf(parts) };
}

export const touch: ConditionKind<Touch> = {
  kind: 'touch',
  summary:
    'received a message: of a campaign / variant, on channels, in the last N days; opened or clicked it (or not)',
  schema: Touch,
  keyedRows: touchRows,
  compile: (p, ctx) => rowsExist(touchRows(p, ctx), ctx.customerId),
  evaluate: (p, { touches }, { asOf }) => {
    const start = p.withinDays === undefined ? null : windowStart(asOf, p.withinDays);
    const happened = (at: Date | null) => at !== null && at <= asOf;
    return touches.some(
      (t) =>
        t.sent_at <= asOf &&
        (p.campaign === undefined || t.campaign === p.campaign) &&
        (p.variant === undefined || t.variant === p.variant) &&
        (p.channels === undefined || (p.channels as readonly string[]).includes(t.channel)) &&
        (start === null || t.sent_at > start) &&
        (p.opened === undefined || happened(t.opened_at) === p.opened) &&
        (p.clicked === undefined || happened(t.clicked_at) === p.clicked),
    );
  },
};

const INTERACTION_KINDS = ['inquiry', 'request', 'complaint', 'suggestion', 'call'] as const;
const Interaction = z.strictObject({
  kind: z.literal('interaction'),
  kinds: z.array(z.enum(INTERACTION_KINDS)).min(1).optional(),
  unresolved: z
    .boolean()
    .optional()
    .describe('true: still new, open or waiting now; false: resolved or closed now'),
  withinDays: days.optional().describe('opened in the last N days'),
});
type Interaction = z.infer<typeof Interaction>;

const UNRESOLVED = ['new', 'open', 'waiting'];

function interactionRows(p: Interaction, ctx: CompileContext): KeyedRows {
  const parts: RawBuilder<unknown>[] = [sql`i.opened_at <= ${ctx.asOf}`];
  if (p.kinds !== undefined) parts.push(sql`i.kind = any(${[...p.kinds]}::text[])`);
  if (p.unresolved === true) parts.push(sql`i.status in ('new', 'open', 'waiting')`);
  if (p.unresolved === false) parts.push(sql`i.status not in ('new', 'open', 'waiting')`);
  if (p.withinDays !== undefined) parts.push(sql`i.opened_at > ${windowStart(ctx.asOf, p.withinDays)}`);
  return { from: sql`interactions i`, customer: sql.ref('i.customer_id'), where: allOf(parts) };
}

export const interaction: ConditionKind<Interaction> = {
  kind: 'interaction',
  summary:
    'told us something: of these kinds (complaint, inquiry…), unresolved (or resolved) now, opened in the last N days',
  schema: Interaction,
  keyedRows: interactionRows,
  compile: (p, ctx) => rowsExist(interactionRows(p, ctx), ctx.customerId),
  evaluate: (p, { interactions }, { asOf }) => {
    const start = p.withinDays === undefined ? null : windowStart(asOf, p.withinDays);
    return interactions.some(
      (i) =>
        i.opened_at <= asOf &&
        (p.kinds === undefined || (p.kinds as readonly string[]).includes(i.kind)) &&
        (p.unresolved === undefined || UNRESOLVED.includes(i.status) === p.unresolved) &&
        (start === null || i.opened_at > start),
    );
  },
};

const Preference = z
  .strictObject({
    kind: z.literal('preference'),
    key: z.string().min(1).max(200).optional().describe('the note’s key, e.g. "author" (any case)'),
    value: z.string().min(1).max(500).optional().describe('the note’s value, e.g. "Murakami" (any case)'),
    text: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('words anywhere in the note or the value (any case)'),
  })
  .refine((p) => p.key !== undefined || p.value !== undefined || p.text !== undefined, {
    message: 'give key, value, text or several',
  });
type Preference = z.infer<typeof Preference>;

const lower = (text: string | null) => (text === null ? null : text.toLowerCase());

function preferenceRows(p: Preference, ctx: CompileContext): KeyedRows {
  const parts: RawBuilder<unknown>[] = [
    sql`n.noted_at <= ${ctx.asOf}`,
    sql`(n.obsolete_at is null or n.obsolete_at > ${ctx.asOf})`,
  ];
  if (p.key !== undefined) parts.push(sql`lower(n.key) = lower(${p.key}::text)`);
  if (p.value !== undefined) parts.push(sql`lower(n.value) = lower(${p.value}::text)`);
  if (p.text !== undefined) {
    parts.push(
      sql`(strpos(lower(coalesce(n.note, '')), lower(${p.text}::text)) > 0 or strpos(lower(coalesce(n.value, '')), lower(${p.text}::text)) > 0)`,
    );
  }
  return { from: sql`preferences n`, customer: sql.ref('n.customer_id'), where: allOf(parts) };
}

/**
 * A note in force at asOf (written by then, not yet marked obsolete). Text is found with strpos, not
 * LIKE, so that `%` and `_` typed by a user are plain characters.
 */
export const preference: ConditionKind<Preference> = {
  kind: 'preference',
  summary: 'a preference note in force with this key, value, or words in its text (case-insensitive)',
  schema: Preference,
  keyedRows: preferenceRows,
  compile: (p, ctx) => rowsExist(preferenceRows(p, ctx), ctx.customerId),
  evaluate: (p, { preferences }, { asOf }) => {
    const text = p.text?.toLowerCase();
    return preferences.some(
      (n) =>
        n.noted_at <= asOf &&
        (n.obsolete_at === null || n.obsolete_at > asOf) &&
        (p.key === undefined || lower(n.key) === p.key.toLowerCase()) &&
        (p.value === undefined || lower(n.value) === p.value.toLowerCase()) &&
        (text === undefined ||
          (n.note ?? '').toLowerCase().includes(text) ||
          (n.value ?? '').toLowerCase().includes(text)),
    );
  },
};
