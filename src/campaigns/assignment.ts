import { type RawBuilder, sql } from 'kysely';
import { type Actor, requirePermission } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { getSegment, snapshotSegment } from '../segments/index.ts';
import { type Campaign, type CampaignVariant, getCampaign } from './campaigns.ts';

/**
 * Assignment: every member of the campaign's segment snapshot gets one campaign_recipients row, in the
 * holdout (receives nothing) or in one variant, before anything is sent.
 *
 * Deterministic given the seed, and independent of row order: each member's place comes from
 * md5("<seed>:h:<customer id>") (holdout) and md5("<seed>:v:<customer id>") (variant), first 8 hex digits
 * as a number. Stratified by tier (customer_measures.tier at assignment; 'none' without measures): within
 * each tier the members are sorted by their holdout hash and exactly round(share × n) of them (half away
 * from zero) form the holdout. The rest of each tier, sorted by the variant hash, are split by weight:
 * position p of n goes to the first variant k with p × W < n × (w1 + … + wk), W the sum of weights, so
 * the counts are exact too. All rows are written by one INSERT … SELECT.
 */

/** The hash the assignment sorts by, as SQL (the same in PostgreSQL and PGlite). */
export function memberHash(
  seed: number,
  salt: 'h' | 'v',
  customerId: RawBuilder<unknown>,
): RawBuilder<number> {
  return sql<number>`('x' || substr(md5(${String(seed)}::text || ${`:${salt}:`}::text || ${customerId}::text), 1, 8))::bit(32)::bigint`;
}

function variantCase(variants: readonly CampaignVariant[]): RawBuilder<string> {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  let cumulative = 0;
  const branches = variants.slice(0, -1).map((v) => {
    cumulative += v.weight;
    return sql`when p * ${total}::bigint < nr * ${cumulative}::bigint then ${v.code}::text`;
  });
  const last = variants.at(-1)!.code;
  if (branches.length === 0) return sql<string>`${last}::text`;
  return sql<string>`case ${sql.join(branches, sql` `)} else ${last}::text end`;
}

export type AssignmentResult = {
  snapshotId: number;
  members: number;
  holdout: number;
  byStratum: { stratum: string; members: number; holdout: number }[];
  byVariant: Record<string, number>;
};

/**
 * Takes the audience snapshot (when the campaign names a saved segment) and assigns every member.
 * A campaign is assigned once; asking again answers the assignment made.
 */
export async function assignCampaign(
  database: Database,
  actor: Actor,
  campaignId: number,
  options: { asOf?: Date } = {},
): Promise<AssignmentResult> {
  requirePermission(actor, 'campaigns:write');
  let campaign = await getCampaign(database, campaignId);
  if (campaign.status === 'cancelled') {
    throw new KizunaError('campaign_cancelled', `Campaign ${campaignId} was cancelled`, { status: 409 });
  }
  if (campaign.assignedAt === null) {
    let snapshotId = campaign.snapshotId;
    if (snapshotId === null) {
      if (campaign.segmentId === null)
        throw new KizunaError('no_audience', `Campaign ${campaignId} has no audience`);
      const segment = await getSegment(database, campaign.segmentId);
      const snapshot = await snapshotSegment(database, segment, { asOf: options.asOf ?? new Date(), actor });
      snapshotId = snapshot.id;
    }
    await writeAssignment(database, campaign, snapshotId);
    campaign = await getCampaign(database, campaignId);
  }
  return assignmentSummary(database, campaign);
}

async function writeAssignment(database: Database, campaign: Campaign, snapshotId: number): Promise<void> {
  const share = campaign.holdoutShare;
  await database.transaction(async (tx) => {
    // Only one assignment: the row lock makes a concurrent second call wait and then see assigned_at.
    const locked = await sql<{ assigned_at: Date | null }>`
      select assigned_at from campaigns where id = ${campaign.id} for update`.execute(tx.db);
    if (locked.rows[0]?.assigned_at) return;
    await sql`
      with members as (
        select sm.customer_id, coalesce(m.tier, 'none') as stratum,
               ${memberHash(campaign.seed, 'h', sql`sm.customer_id`)} as h1,
               ${memberHash(campaign.seed, 'v', sql`sm.customer_id`)} as h2
        from segment_snapshot_members sm
        left join customer_measures m on m.customer_id = sm.customer_id
        where sm.snapshot_id = ${snapshotId}
      ), ranked as (
        select members.*, row_number() over (partition by stratum order by h1, customer_id) as r1,
               count(*) over (partition by stratum) as n
        from members
      ), split as (
        select ranked.*, r1 <= round(${String(share)}::numeric * n) as holdout from ranked
      ), placed as (
        select split.*, row_number() over (partition by stratum, holdout order by h2, customer_id) - 1 as p,
               count(*) over (partition by stratum, holdout) as nr
        from split
      )
      insert into campaign_recipients (campaign_id, customer_id, variant, holdout, stratum, channel, state)
      select ${campaign.id}::bigint, customer_id,
             case when holdout then null else ${variantCase(campaign.variants)} end,
             holdout, stratum, ${campaign.channel}::text,
             case when holdout then 'held_out' else 'pending' end
      from placed`.execute(tx.db);
    await tx.db
      .updateTable('campaigns')
      .set({ snapshot_id: snapshotId, assigned_at: new Date(), status: 'assigned' })
      .where('id', '=', campaign.id)
      .execute();
  });
}

async function assignmentSummary(database: Database, campaign: Campaign): Promise<AssignmentResult> {
  const [strata, variants] = await Promise.all([
    database.db
      .selectFrom('campaign_recipients')
      .select([
        'stratum',
        sql<number>`count(*)::int`.as('members'),
        sql<number>`count(*) filter (where holdout)::int`.as('holdout'),
      ])
      .where('campaign_id', '=', campaign.id)
      .groupBy('stratum')
      .orderBy('stratum')
      .execute(),
    database.db
      .selectFrom('campaign_recipients')
      .select(['variant', sql<number>`count(*)::int`.as('n')])
      .where('campaign_id', '=', campaign.id)
      .where('holdout', '=', false)
      .groupBy('variant')
      .execute(),
  ]);
  const byStratum = strata.map((s) => ({
    stratum: s.stratum ?? 'none',
    members: s.members,
    holdout: s.holdout,
  }));
  return {
    snapshotId: campaign.snapshotId!,
    members: byStratum.reduce((sum, s) => sum + s.members, 0),
    holdout: byStratum.reduce((sum, s) => sum + s.holdout, 0),
    byStratum,
    byVariant: Object.fromEntries(variants.map((v) => [v.variant ?? '', v.n])),
  };
}
