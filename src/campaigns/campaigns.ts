import { sql } from 'kysely';
import { z } from 'zod';
import { type Actor, requirePermission } from '../auth/index.ts';
import { MoneyInput } from '../commerce/index.ts';
import type {
  CampaignChannel,
  CampaignPurpose,
  CampaignStatus,
  Database,
  RecipientState,
} from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { RuleTreeInput } from '../segments/index.ts';

export const CAMPAIGN_CHANNELS = [
  'email',
  'letter',
  'phone',
  'newsletter',
] as const satisfies readonly CampaignChannel[];
export const CAMPAIGN_PURPOSES = [
  'marketing',
  'follow_up',
  'sales',
] as const satisfies readonly CampaignPurpose[];

/**
 * What one touch costs by default on each channel (in the shop's currency), used when a campaign names no
 * cost: an e-mail next to nothing, a printed and posted letter ~150, a staff phone call ~400.
 */
export const DEFAULT_COST_PER_TOUCH: Record<CampaignChannel, string> = {
  email: '1.00',
  newsletter: '1.00',
  letter: '150.00',
  phone: '400.00',
};

const SegmentKey = z.union([z.number().int().positive(), z.string().trim().min(1).max(100)]);

export const VariantInput = z.strictObject({
  code: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,20}$/, 'must be 1–20 letters, digits, _ or -'),
  name: z.string().trim().max(200).optional(),
  weight: z.number().int().min(1).max(1000).default(1),
  subject: z.string().max(500).optional().describe('Liquid template, e.g. "{{ customer.name }}, new wines"'),
  bodyText: z.string().max(100_000).optional().describe('Liquid template of the text part / letter text'),
  bodyHtml: z.string().max(200_000).optional().describe('Liquid template of the HTML part'),
  offer: z.string().max(2000).optional().describe('the offer, available to templates as {{ offer }}'),
});
export type VariantInput = z.output<typeof VariantInput>;

export const NewsletterSection = z.strictObject({
  title: z.string().trim().min(1).max(200),
  segment: SegmentKey.optional().describe('a saved segment (id or name): only its members get this section'),
  rules: RuleTreeInput.optional().describe('or a rule tree; neither: every recipient gets the section'),
  bodyText: z.string().max(50_000),
  bodyHtml: z.string().max(100_000).optional(),
});
export type NewsletterSection = z.output<typeof NewsletterSection>;

const Goal = z.strictObject({
  kind: z.enum(['any', 'product', 'category']).default('any'),
  productIds: z.array(z.number().int().positive()).max(1000).optional(),
  skus: z.array(z.string().trim().min(1).max(100)).max(1000).optional(),
  category: z.string().trim().min(1).max(200).optional(),
  windowDays: z.number().int().min(1).max(3650).default(30),
});

const Audience = z
  .strictObject({
    segment: SegmentKey.optional().describe('a saved segment: snapshotted when the campaign is assigned'),
    snapshotId: z.number().int().positive().optional().describe('or an existing segment snapshot'),
  })
  .refine((a) => (a.segment === undefined) !== (a.snapshotId === undefined), {
    message: 'give a segment or a snapshotId (one of them)',
  });

const Fields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5000).optional(),
  channel: z.enum(CAMPAIGN_CHANNELS),
  purpose: z.enum(CAMPAIGN_PURPOSES).optional().describe('default: follow_up for phone, else marketing'),
  goal: Goal.prefault({}),
  audience: Audience,
  variants: z.array(VariantInput).min(1).max(26).optional().describe('default: one variant "A"'),
  holdoutShare: z.number().min(0).max(0.9999).default(0).describe('share kept as holdout, e.g. 0.1'),
  seed: z.number().int().min(0).max(2_147_483_647).default(1),
  costPerTouch: MoneyInput.optional().describe('default: the channel’s (email 1, letter 150, phone 400)'),
  budget: MoneyInput.optional(),
  scheduledAt: z.iso.datetime({ offset: true }).optional(),
  previousCampaignId: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('the campaign this one is compared with'),
  fallbackChannel: z
    .enum(['email'])
    .optional()
    .describe('letter campaigns: customers refused a letter only for their tier get an e-mail instead'),
  fallbackCostPerTouch: MoneyInput.optional(),
  fallbackSubject: z.string().max(500).optional(),
  sections: z.array(NewsletterSection).max(50).optional().describe('newsletter: sections chosen per segment'),
  script: z.string().max(20_000).optional().describe('phone: the follow-up script for staff'),
};

export const CampaignInput = z.strictObject(Fields).superRefine((input, ctx) => {
  if (input.fallbackChannel && input.channel !== 'letter') {
    ctx.addIssue({
      code: 'custom',
      path: ['fallbackChannel'],
      message: 'only a letter campaign has a fallback',
    });
  }
  if (input.sections && input.channel !== 'newsletter') {
    ctx.addIssue({ code: 'custom', path: ['sections'], message: 'sections are for newsletter campaigns' });
  }
  const codes = (input.variants ?? []).map((v) => v.code);
  if (new Set(codes).size !== codes.length) {
    ctx.addIssue({ code: 'custom', path: ['variants'], message: 'variant codes must differ' });
  }
  if (input.goal.kind === 'category' && !input.goal.category) {
    ctx.addIssue({
      code: 'custom',
      path: ['goal', 'category'],
      message: 'a category goal names the category',
    });
  }
  if (input.goal.kind === 'product' && !input.goal.productIds?.length && !input.goal.skus?.length) {
    ctx.addIssue({ code: 'custom', path: ['goal', 'productIds'], message: 'a product goal names products' });
  }
});
export type CampaignInput = z.input<typeof CampaignInput>;

/** A clone: a new name and whatever changes from the source ("version 2": a new offer, new copy…). */
export const CloneInput = z.strictObject({
  ...Object.fromEntries(Object.entries(Fields).map(([k, v]) => [k, (v as z.ZodType).optional()])),
  name: Fields.name.optional().describe('default: "<source name> (v2)"'),
}) as unknown as z.ZodType<Partial<z.output<typeof CampaignInput>>>;

export type CampaignContent = {
  sections?: NewsletterSection[];
  script?: string;
  fallbackCostPerTouch?: string;
  fallbackSubject?: string;
  audienceSegment?: string | number;
};

export type CampaignVariant = {
  code: string;
  name: string | null;
  weight: number;
  subject: string | null;
  bodyText: string | null;
  bodyHtml: string | null;
  offer: string | null;
};

export type Campaign = {
  id: number;
  name: string;
  description: string | null;
  channel: CampaignChannel;
  purpose: CampaignPurpose;
  goal: {
    kind: 'any' | 'product' | 'category';
    productIds: number[];
    category: string | null;
    windowDays: number;
  };
  segmentId: number | null;
  snapshotId: number | null;
  holdoutShare: number;
  seed: number;
  costPerTouch: string;
  budget: string | null;
  scheduledAt: Date | null;
  previousCampaignId: number | null;
  fallbackChannel: 'email' | null;
  content: CampaignContent;
  status: CampaignStatus;
  createdByName: string;
  createdAt: Date;
  assignedAt: Date | null;
  sendStartedAt: Date | null;
  sentAt: Date | null;
  variants: CampaignVariant[];
  /** Recipients by state (after assignment). */
  recipients: Partial<Record<RecipientState, number>>;
};

function parseCampaignInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.filter((p) => typeof p === 'string').join('.') || undefined;
    throw new KizunaError('invalid_request', `${field ?? 'campaign'}: ${issue?.message ?? 'invalid'}`, {
      field,
    });
  }
  return parsed.data;
}

async function segmentIdOf(database: Database, key: string | number): Promise<number> {
  const byId = typeof key === 'number' || /^\d+$/.test(key);
  const row = await database.db
    .selectFrom('segments')
    .select('id')
    .where(byId ? 'id' : 'name', '=', byId ? Number(key) : String(key))
    .executeTakeFirst();
  if (!row)
    throw new KizunaError('segment_not_found', `No saved segment ${key}`, { field: 'audience.segment' });
  return row.id;
}

async function productIdsOf(database: Database, goal: z.output<typeof Goal>): Promise<number[]> {
  const ids = new Set(goal.productIds ?? []);
  if (goal.skus?.length) {
    const rows = await database.db
      .selectFrom('products')
      .select(['id', 'sku'])
      .where('sku', 'in', goal.skus)
      .execute();
    const missing = goal.skus.filter((sku) => !rows.some((r) => r.sku === sku));
    if (missing.length) {
      throw new KizunaError('product_not_found', `goal.skus: no product ${missing.join(', ')}`, {
        field: 'goal.skus',
      });
    }
    for (const row of rows) ids.add(row.id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** Creates a draft campaign with its variants. Needs campaigns:write. */
export async function createCampaign(database: Database, actor: Actor, rawInput: unknown): Promise<Campaign> {
  requirePermission(actor, 'campaigns:write');
  const input = parseCampaignInput(CampaignInput, rawInput);
  // A scheduled campaign is sent by the scheduler without anyone pressing send: scheduling is sending.
  if (input.scheduledAt !== undefined) requirePermission(actor, 'campaigns:send');
  const segmentId =
    input.audience.segment !== undefined ? await segmentIdOf(database, input.audience.segment) : null;
  if (input.audience.snapshotId !== undefined) {
    const snapshot = await database.db
      .selectFrom('segment_snapshots')
      .select('id')
      .where('id', '=', input.audience.snapshotId)
      .executeTakeFirst();
    if (!snapshot) {
      throw new KizunaError('snapshot_not_found', `No segment snapshot ${input.audience.snapshotId}`, {
        field: 'audience.snapshotId',
      });
    }
  }
  if (input.previousCampaignId !== undefined) await getCampaign(database, input.previousCampaignId);
  const productIds = await productIdsOf(database, input.goal);
  const variants = input.variants ?? [{ code: 'A', weight: 1 }];
  const content: CampaignContent = {};
  if (input.sections) content.sections = input.sections;
  if (input.script) content.script = input.script;
  if (input.fallbackCostPerTouch !== undefined) content.fallbackCostPerTouch = input.fallbackCostPerTouch;
  if (input.fallbackSubject !== undefined) content.fallbackSubject = input.fallbackSubject;
  const id = await database.transaction(async (tx) => {
    const exists = await tx.db
      .selectFrom('campaigns')
      .select('id')
      .where('name', '=', input.name)
      .executeTakeFirst();
    if (exists) {
      throw new KizunaError(
        'campaign_exists',
        `A campaign named "${input.name}" exists already (id ${exists.id})`,
        {
          field: 'name',
          status: 409,
        },
      );
    }
    const row = await tx.db
      .insertInto('campaigns')
      .values({
        name: input.name,
        description: input.description ?? null,
        channel: input.channel,
        purpose: input.purpose ?? (input.channel === 'phone' ? 'follow_up' : 'marketing'),
        goal_kind: input.goal.kind,
        goal_product_ids: productIds,
        goal_category: input.goal.category ?? null,
        goal_window_days: input.goal.windowDays,
        segment_id: segmentId,
        snapshot_id: input.audience.snapshotId ?? null,
        holdout_share: input.holdoutShare,
        seed: input.seed,
        cost_per_touch: input.costPerTouch ?? DEFAULT_COST_PER_TOUCH[input.channel],
        budget: input.budget ?? null,
        scheduled_at: input.scheduledAt ? new Date(input.scheduledAt) : null,
        previous_campaign_id: input.previousCampaignId ?? null,
        fallback_channel: input.fallbackChannel ?? null,
        content: JSON.stringify(content),
        created_by_staff_id: actor.staffId,
        created_by_name: actor.name,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await tx.db
      .insertInto('campaign_variants')
      .values(
        variants.map((v) => ({
          campaign_id: row.id,
          code: v.code,
          name: v.name ?? null,
          weight: v.weight ?? 1,
          subject: v.subject ?? null,
          body_text: v.bodyText ?? null,
          body_html: v.bodyHtml ?? null,
          offer: v.offer ?? null,
        })),
      )
      .execute();
    return row.id;
  });
  return getCampaign(database, id);
}

const CAMPAIGN_COLUMNS = [
  'id',
  'name',
  'description',
  'channel',
  'purpose',
  'goal_kind',
  'goal_product_ids',
  'goal_category',
  'goal_window_days',
  'segment_id',
  'snapshot_id',
  'holdout_share',
  'seed',
  'cost_per_touch',
  'budget',
  'scheduled_at',
  'previous_campaign_id',
  'fallback_channel',
  'content',
  'status',
  'created_by_name',
  'created_at',
  'assigned_at',
  'send_started_at',
  'sent_at',
] as const;

/** A campaign with its variants and recipient counts; 404 when there is none. */
export async function getCampaign(database: Database, id: number): Promise<Campaign> {
  const row = await database.db
    .selectFrom('campaigns')
    .select(CAMPAIGN_COLUMNS)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new KizunaError('campaign_not_found', `No campaign ${id}`, { status: 404 });
  const [variants, counts] = await Promise.all([
    database.db
      .selectFrom('campaign_variants')
      .select(['code', 'name', 'weight', 'subject', 'body_text', 'body_html', 'offer'])
      .where('campaign_id', '=', id)
      .orderBy('code')
      .execute(),
    recipientCounts(database, id),
  ]);
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    channel: row.channel,
    purpose: row.purpose,
    goal: {
      kind: row.goal_kind,
      productIds: row.goal_product_ids.map(Number),
      category: row.goal_category,
      windowDays: row.goal_window_days,
    },
    segmentId: row.segment_id,
    snapshotId: row.snapshot_id,
    holdoutShare: Number(row.holdout_share),
    seed: Number(row.seed),
    costPerTouch: row.cost_per_touch,
    budget: row.budget,
    scheduledAt: row.scheduled_at,
    previousCampaignId: row.previous_campaign_id,
    fallbackChannel: row.fallback_channel,
    content: row.content as CampaignContent,
    status: row.status,
    createdByName: row.created_by_name,
    createdAt: row.created_at,
    assignedAt: row.assigned_at,
    sendStartedAt: row.send_started_at,
    sentAt: row.sent_at,
    variants: variants.map((v) => ({
      code: v.code,
      name: v.name,
      weight: v.weight,
      subject: v.subject,
      bodyText: v.body_text,
      bodyHtml: v.body_html,
      offer: v.offer,
    })),
    recipients: counts,
  };
}

export async function recipientCounts(
  database: Database,
  campaignId: number,
): Promise<Partial<Record<RecipientState, number>>> {
  const rows = await database.db
    .selectFrom('campaign_recipients')
    .select(['state', sql<number>`count(*)::int`.as('n')])
    .where('campaign_id', '=', campaignId)
    .groupBy('state')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

export type CampaignSummary = Pick<
  Campaign,
  'id' | 'name' | 'channel' | 'purpose' | 'status' | 'previousCampaignId' | 'createdAt' | 'sentAt'
>;

export async function listCampaigns(database: Database): Promise<CampaignSummary[]> {
  const rows = await database.db
    .selectFrom('campaigns')
    .select(['id', 'name', 'channel', 'purpose', 'status', 'previous_campaign_id', 'created_at', 'sent_at'])
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    channel: r.channel,
    purpose: r.purpose,
    status: r.status,
    previousCampaignId: r.previous_campaign_id,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  }));
}

/**
 * "Version 2 of last spring's mailing": a new draft with the source's content, goal, audience definition
 * (its saved segment, snapshotted afresh on assignment; or the same snapshot when it had no segment),
 * variants and settings, overridden by `changes`, and previous_campaign_id = the source.
 */
export async function cloneCampaign(
  database: Database,
  actor: Actor,
  sourceId: number,
  rawChanges: unknown = {},
): Promise<Campaign> {
  const source = await getCampaign(database, sourceId);
  const parsed = parseCampaignInput(CloneInput, rawChanges ?? {});
  // Only the fields the caller gave: the schema's defaults (goal, holdout, seed…) must not replace the source's.
  const given = new Set(Object.keys((rawChanges ?? {}) as Record<string, unknown>));
  const changes = Object.fromEntries(
    Object.entries(parsed).filter(([key]) => given.has(key)),
  ) as typeof parsed;
  const base: CampaignInput = {
    name: `${source.name} (v2)`,
    description: source.description ?? undefined,
    channel: source.channel,
    purpose: source.purpose,
    goal: {
      kind: source.goal.kind,
      productIds: source.goal.productIds.length ? source.goal.productIds : undefined,
      category: source.goal.category ?? undefined,
      windowDays: source.goal.windowDays,
    },
    audience: source.segmentId !== null ? { segment: source.segmentId } : { snapshotId: source.snapshotId! },
    variants: source.variants.map((v) => ({
      code: v.code,
      name: v.name ?? undefined,
      weight: v.weight,
      subject: v.subject ?? undefined,
      bodyText: v.bodyText ?? undefined,
      bodyHtml: v.bodyHtml ?? undefined,
      offer: v.offer ?? undefined,
    })),
    holdoutShare: source.holdoutShare,
    seed: source.seed,
    costPerTouch: source.costPerTouch,
    budget: source.budget ?? undefined,
    fallbackChannel: source.fallbackChannel ?? undefined,
    fallbackCostPerTouch: source.content.fallbackCostPerTouch,
    fallbackSubject: source.content.fallbackSubject,
    sections: source.content.sections,
    script: source.content.script,
  };
  const merged = Object.fromEntries(
    Object.entries({
      ...base,
      ...changes,
      previousCampaignId: changes.previousCampaignId ?? source.id,
    }).filter(([, v]) => v !== undefined),
  );
  return createCampaign(database, actor, merged);
}

/** Stops a campaign: rows not yet sent are left unsent (state stays, status 'cancelled'). */
export async function cancelCampaign(database: Database, actor: Actor, id: number): Promise<Campaign> {
  requirePermission(actor, 'campaigns:write');
  const campaign = await getCampaign(database, id);
  if (campaign.status === 'sent') {
    throw new KizunaError('campaign_sent', `Campaign ${id} has been sent; it cannot be cancelled`, {
      status: 409,
    });
  }
  await database.db.updateTable('campaigns').set({ status: 'cancelled' }).where('id', '=', id).execute();
  return getCampaign(database, id);
}
