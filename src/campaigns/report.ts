import { sql } from 'kysely';
import { formatTable } from '../cli/output.ts';
import { fromCents, toCents } from '../commerce/money.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { type ArmAttribution, type AttributionRule, attributionByArm } from './attribution.ts';
import {
  type DifferenceInterval,
  newcombeInterval,
  relativeLift,
  twoProportionZTest,
  welchInterval,
  wilsonInterval,
} from './statistics.ts';

/**
 * The campaign report (issue #7 part 5): per variant and for the holdout, who was reached, who responded
 * (attribution.ts), the response rate with its Wilson interval, revenue, the lift over the holdout with
 * Newcombe's interval and a p-value, cost, profit after cost, the winner by a stated rule, and "version 2
 * vs version 1" when the campaign names the one it follows.
 */

export const REPORT_CONFIDENCE = 0.95;

export const WINNER_RULE =
  'The winner is the variant with the highest response rate whose 95 % Newcombe interval for the difference ' +
  'to the holdout lies entirely above 0 (when there is a holdout) and whose 95 % Newcombe interval for the ' +
  'difference to every other variant lies entirely above 0. Otherwise there is no winner yet, and the reason ' +
  'says which comparison is still undecided.';

export type Rate = { rate: number | null; lower: number | null; upper: number | null };

/** One arm compared with another (variant − holdout, or version 2 − version 1). */
export type RateComparison = {
  /** Absolute difference of the response rates, with Newcombe's 95 % interval. */
  difference: number;
  lower: number;
  upper: number;
  /** p_a / p_b − 1; null when p_b is 0. No interval: decisions use the absolute difference. */
  relativeLift: number | null;
  /** Two-sided pooled two-proportion z-test. */
  pValue: number;
};

export type ArmReport = {
  /** Variant code; null for the holdout. */
  variant: string | null;
  name: string | null;
  /** Members assigned to this arm. */
  assigned: number;
  /** Sent (the denominator of the rate); for the holdout, every holdout member. */
  recipients: number;
  suppressed: number;
  /** Why the contact policy refused, with how many. */
  suppressedByReason: Record<string, number>;
  failed: number;
  bounced: number;
  /** Not sent yet (pending or in flight). */
  notYetSent: number;
  responders: number;
  purchases: number;
  responseRate: Rate;
  revenue: string;
  revenuePerRecipient: number | null;
  /** Touch costs of the arm (0 for the holdout). */
  cost: string;
  /** Revenue minus the cost of the goods; null when some credited product has no unit cost. */
  grossMargin: string | null;
  /** grossMargin − cost, or revenue − cost when the margin is not known (see CampaignReport.profitBasis). */
  profitAfterCost: string;
  /** Versus the holdout; null for the holdout itself or when there is none. */
  vsHoldout: RateComparison | null;
  /** Welch's 95 % interval for revenue per recipient, this arm − holdout. */
  revenuePerRecipientVsHoldout: DifferenceInterval | null;
  /**
   * What the arm brought beyond what its recipients would have done anyway: (rate − holdout rate) ×
   * recipients, (revenue per recipient − the holdout's) × recipients, and that revenue's margin (by the
   * arm's own margin ratio when the margin is known) minus cost. Null without a holdout.
   */
  incremental: { responders: number; revenue: number; profitAfterCost: number } | null;
};

export type CampaignSummaryReport = {
  campaign: { id: number; name: string; status: string; sendStartedAt: Date | null };
  treated: ArmReport;
  holdout: ArmReport | null;
};

export type CampaignReport = {
  campaign: {
    id: number;
    name: string;
    channel: string;
    status: string;
    goal: {
      kind: 'any' | 'product' | 'category';
      productIds: number[];
      category: string | null;
      windowDays: number;
    };
    sendStartedAt: Date | null;
    previousCampaignId: number | null;
  };
  attribution: AttributionRule;
  asOf: Date;
  confidence: number;
  /** When the goal windows open and close (the last touch's window); closed means no more purchases will count. */
  goalWindow: { opensAt: Date | null; closesAt: Date | null; closed: boolean };
  /** Every variant, then the holdout (when there is one). */
  arms: ArmReport[];
  /** The variants pooled ("everyone we mailed"), compared with the holdout. */
  treated: ArmReport;
  profitBasis: 'margin' | 'revenue';
  winner: { variant: string | null; rule: string; reason: string; provisional: boolean };
  /** "Version 2 vs version 1": the campaign it follows, measured the same way, and the difference. */
  previous: (CampaignSummaryReport & { treatedDifference: RateComparison | null }) | null;
  notes: string[];
};

export type ReportOptions = { attribution?: AttributionRule; asOf?: Date };

type CampaignRow = {
  id: number;
  name: string;
  channel: string;
  status: string;
  goal_kind: 'any' | 'product' | 'category';
  goal_product_ids: number[];
  goal_category: string | null;
  goal_window_days: number;
  send_started_at: Date | null;
  previous_campaign_id: number | null;
};

async function findCampaign(database: Database, idOrName: number | string): Promise<CampaignRow> {
  const byId = typeof idOrName === 'number' || /^\d{1,15}$/.test(idOrName);
  const row = await database.db
    .selectFrom('campaigns')
    .select([
      'id',
      'name',
      'channel',
      'status',
      'goal_kind',
      'goal_product_ids',
      'goal_category',
      'goal_window_days',
      'send_started_at',
      'previous_campaign_id',
    ])
    .where(byId ? 'id' : 'name', '=', byId ? Number(idOrName) : String(idOrName))
    .executeTakeFirst();
  if (!row) throw new KizunaError('campaign_not_found', `No campaign ${idOrName}`, { status: 404 });
  return { ...row, goal_product_ids: row.goal_product_ids.map(Number) };
}

type StateCount = { variant: string | null; state: string; reason: string | null; n: number };

const rateOf = (responders: number, recipients: number): Rate => {
  const interval = wilsonInterval(responders, recipients, { confidence: REPORT_CONFIDENCE });
  return {
    rate: recipients === 0 ? null : responders / recipients,
    lower: interval?.lower ?? null,
    upper: interval?.upper ?? null,
  };
};

function compare(
  a: { responders: number; recipients: number },
  b: { responders: number; recipients: number },
) {
  const interval = newcombeInterval(a.responders, a.recipients, b.responders, b.recipients, {
    confidence: REPORT_CONFIDENCE,
  });
  const test = twoProportionZTest(a.responders, a.recipients, b.responders, b.recipients);
  if (!interval || !test) return null;
  return {
    difference: interval.difference,
    lower: interval.lower,
    upper: interval.upper,
    relativeLift: relativeLift(a.responders, a.recipients, b.responders, b.recipients),
    pValue: test.pValue,
  } satisfies RateComparison;
}

const EMPTY_ATTRIBUTION = (variant: string | null): ArmAttribution => ({
  variant,
  responders: 0,
  purchases: 0,
  revenue: '0.00',
  revenueSumOfSquares: 0,
  costOfGoods: '0.00',
  linesWithoutCost: 0,
});

/** The arm's counts and money before the comparisons. */
function armOf(
  variant: string | null,
  name: string | null,
  states: StateCount[],
  attribution: ArmAttribution,
  cost: string,
): ArmReport & { linesWithoutCost: number; revenueSumOfSquares: number } {
  const count = (state: string) => states.filter((s) => s.state === state).reduce((sum, s) => sum + s.n, 0);
  const suppressedByReason: Record<string, number> = {};
  for (const s of states.filter((s) => s.state === 'suppressed')) {
    const reason = s.reason ?? 'unknown';
    suppressedByReason[reason] = (suppressedByReason[reason] ?? 0) + s.n;
  }
  const recipients = variant === null ? states.reduce((sum, s) => sum + s.n, 0) : count('sent');
  const revenueCents = toCents(attribution.revenue);
  const marginCents = revenueCents - toCents(attribution.costOfGoods);
  return {
    variant,
    name,
    assigned: states.reduce((sum, s) => sum + s.n, 0),
    recipients,
    suppressed: count('suppressed'),
    suppressedByReason,
    failed: count('failed'),
    bounced: count('bounced'),
    notYetSent: count('pending') + count('sending'),
    responders: attribution.responders,
    purchases: attribution.purchases,
    responseRate: rateOf(attribution.responders, recipients),
    revenue: attribution.revenue,
    revenuePerRecipient: recipients === 0 ? null : Number(revenueCents) / 100 / recipients,
    cost,
    grossMargin: attribution.linesWithoutCost > 0 ? null : fromCents(marginCents),
    profitAfterCost: '0.00',
    vsHoldout: null,
    revenuePerRecipientVsHoldout: null,
    incremental: null,
    linesWithoutCost: attribution.linesWithoutCost,
    revenueSumOfSquares: attribution.revenueSumOfSquares,
  };
}

type WorkingArm = ReturnType<typeof armOf>;

/** Pools arms (the variants together: "everyone we mailed"). */
function pool(arms: WorkingArm[]): WorkingArm {
  const sumCents = (pick: (arm: WorkingArm) => string) =>
    arms.reduce((sum, arm) => sum + toCents(pick(arm)), 0n);
  const suppressedByReason: Record<string, number> = {};
  for (const arm of arms) {
    for (const [reason, n] of Object.entries(arm.suppressedByReason)) {
      suppressedByReason[reason] = (suppressedByReason[reason] ?? 0) + n;
    }
  }
  const sum = (pick: (arm: WorkingArm) => number) => arms.reduce((total, arm) => total + pick(arm), 0);
  const recipients = sum((a) => a.recipients);
  const responders = sum((a) => a.responders);
  const revenueCents = sumCents((a) => a.revenue);
  const linesWithoutCost = sum((a) => a.linesWithoutCost);
  const marginCents = arms.reduce((total, arm) => total + toCents(arm.grossMargin ?? '0'), 0n);
  return {
    variant: 'treated',
    name: 'all variants',
    assigned: sum((a) => a.assigned),
    recipients,
    suppressed: sum((a) => a.suppressed),
    suppressedByReason,
    failed: sum((a) => a.failed),
    bounced: sum((a) => a.bounced),
    notYetSent: sum((a) => a.notYetSent),
    responders,
    purchases: sum((a) => a.purchases),
    responseRate: rateOf(responders, recipients),
    revenue: fromCents(revenueCents),
    revenuePerRecipient: recipients === 0 ? null : Number(revenueCents) / 100 / recipients,
    cost: fromCents(sumCents((a) => a.cost)),
    grossMargin: linesWithoutCost > 0 ? null : fromCents(marginCents),
    profitAfterCost: '0.00',
    vsHoldout: null,
    revenuePerRecipientVsHoldout: null,
    incremental: null,
    linesWithoutCost,
    revenueSumOfSquares: sum((a) => a.revenueSumOfSquares),
  };
}

/** Fills in profit and the comparisons with the holdout, and drops the working fields. */
function finish(arm: WorkingArm, holdout: WorkingArm | null, basis: 'margin' | 'revenue'): ArmReport {
  const { linesWithoutCost: _, revenueSumOfSquares: __, ...report } = arm;
  const earned = basis === 'margin' ? (arm.grossMargin ?? arm.revenue) : arm.revenue;
  report.profitAfterCost = fromCents(toCents(earned) - toCents(arm.cost));
  if (holdout && arm !== holdout) {
    report.vsHoldout = compare(arm, holdout);
    const revenue = (a: WorkingArm) => ({
      n: a.recipients,
      sum: Number(a.revenue),
      sumOfSquares: a.revenueSumOfSquares,
    });
    const welch = welchInterval(revenue(arm), revenue(holdout), { confidence: REPORT_CONFIDENCE });
    report.revenuePerRecipientVsHoldout = welch && {
      difference: welch.difference,
      lower: welch.lower,
      upper: welch.upper,
    };
    if (arm.recipients > 0 && holdout.recipients > 0) {
      const rate = (a: WorkingArm) => a.responders / a.recipients;
      const perRecipient = (a: WorkingArm) => Number(a.revenue) / a.recipients;
      const incrementalRevenue = (perRecipient(arm) - perRecipient(holdout)) * arm.recipients;
      const marginRatio =
        basis === 'margin' && arm.grossMargin !== null && Number(arm.revenue) > 0
          ? Number(arm.grossMargin) / Number(arm.revenue)
          : 1;
      report.incremental = {
        responders: (rate(arm) - rate(holdout)) * arm.recipients,
        revenue: Math.round(incrementalRevenue * 100) / 100,
        profitAfterCost: Math.round((incrementalRevenue * marginRatio - Number(arm.cost)) * 100) / 100,
      };
    }
  }
  return report;
}

type Measured = {
  row: CampaignRow;
  variants: WorkingArm[];
  holdout: WorkingArm | null;
  treated: WorkingArm;
  basis: 'margin' | 'revenue';
  lastTouchAt: Date | null;
  startedAt: Date | null;
};

async function measure(
  database: Database,
  row: CampaignRow,
  rule: AttributionRule,
  asOf: Date,
): Promise<Measured> {
  const [variantRows, stateRows, costRows, attribution, touchTimes] = await Promise.all([
    database.db
      .selectFrom('campaign_variants')
      .select(['code', 'name'])
      .where('campaign_id', '=', row.id)
      .orderBy('code')
      .execute(),
    database.db
      .selectFrom('campaign_recipients')
      .select(['variant', 'state', 'reason', sql<number>`count(*)::int`.as('n')])
      .where('campaign_id', '=', row.id)
      .groupBy(['variant', 'state', 'reason'])
      .execute(),
    sql<{ variant: string | null; cost: string }>`
      select coalesce(r.variant, t.variant) as variant, sum(t.cost)::numeric(14, 2) as cost
      from touches t
      left join campaign_recipients r on r.campaign_id = t.campaign_id and r.customer_id = t.customer_id
      where t.campaign_id = ${row.id} and t.sent_at <= ${asOf}
      group by coalesce(r.variant, t.variant)`.execute(database.db),
    attributionByArm(database, row.id, { rule, asOf }),
    sql<{ first_at: Date | null; last_at: Date | null }>`
      select min(sent_at) as first_at, max(sent_at) as last_at from touches
      where campaign_id = ${row.id} and sent_at <= ${asOf}`.execute(database.db),
  ]);
  const states: StateCount[] = stateRows.map((s) => ({ ...s, n: Number(s.n) }));
  const codes = [
    ...new Set([...variantRows.map((v) => v.code), ...states.flatMap((s) => s.variant ?? [])]),
  ].sort();
  const nameOf = new Map(variantRows.map((v) => [v.code, v.name]));
  const costOf = (variant: string | null) => costRows.rows.find((c) => c.variant === variant)?.cost ?? '0.00';
  const attributionOf = (variant: string | null) =>
    attribution.find((a) => a.variant === variant) ?? EMPTY_ATTRIBUTION(variant);
  const variants = codes.map((code) =>
    armOf(
      code,
      nameOf.get(code) ?? null,
      states.filter((s) => s.variant === code),
      attributionOf(code),
      costOf(code),
    ),
  );
  const holdoutStates = states.filter((s) => s.variant === null);
  const holdout =
    holdoutStates.length > 0 ? armOf(null, 'holdout', holdoutStates, attributionOf(null), '0.00') : null;
  const treated = pool(variants);
  const all = holdout ? [...variants, holdout] : variants;
  const basis = all.every((a) => a.linesWithoutCost === 0) ? 'margin' : 'revenue';
  const times = touchTimes.rows[0];
  return {
    row,
    variants,
    holdout,
    treated,
    basis,
    lastTouchAt: times?.last_at ? new Date(times.last_at) : null,
    startedAt: row.send_started_at ?? (times?.first_at ? new Date(times.first_at) : null),
  };
}

const percent = (value: number) => `${(value * 100).toFixed(2)} %`;
/** A difference of rates in percentage points: 0.0292 → "+2.92 points". */
const points = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(2)} points`;

function chooseWinner(
  variants: ArmReport[],
  holdout: ArmReport | null,
): { variant: string | null; reason: string } {
  const measured = variants.filter((v) => v.recipients > 0 && v.responseRate.rate !== null);
  if (measured.length === 0) return { variant: null, reason: 'no variant has been sent yet' };
  if (measured.length === 1 && !holdout) {
    return { variant: null, reason: 'one variant and no holdout: there is nothing to compare it with' };
  }
  const best = [...measured].sort(
    (a, b) =>
      (b.responseRate.rate ?? 0) - (a.responseRate.rate ?? 0) ||
      String(a.variant).localeCompare(String(b.variant)),
  )[0] as ArmReport;
  if (holdout) {
    const lift = best.vsHoldout;
    if (!lift) return { variant: null, reason: 'the holdout has no members to compare with' };
    if (lift.lower <= 0) {
      return {
        variant: null,
        reason:
          `${best.variant} has the highest response rate, but its difference to the holdout ` +
          `(${points(lift.difference)}, 95 % interval ${points(lift.lower)} to ${points(lift.upper)}) includes 0`,
      };
    }
  }
  for (const other of measured) {
    if (other === best) continue;
    const versus = compare(best, other);
    if (!versus || versus.lower <= 0) {
      return {
        variant: null,
        reason:
          `${best.variant} leads ${other.variant}, but the difference ` +
          (versus
            ? `(${points(versus.difference)}, 95 % interval ${points(versus.lower)} to ${points(versus.upper)})`
            : '') +
          ' includes 0: more recipients or a longer wait are needed to tell them apart',
      };
    }
  }
  const lift = best.vsHoldout;
  return {
    variant: best.variant,
    reason:
      `${best.variant} responds at ${percent(best.responseRate.rate ?? 0)}` +
      (lift
        ? `, ${points(lift.difference)} over the holdout (95 % interval ${points(lift.lower)} to ${points(lift.upper)})`
        : '') +
      (measured.length > 1 ? ', and above every other variant with 95 % confidence' : ''),
  };
}

/**
 * The report of one campaign (by id or name). `attribution` defaults to last touch, `asOf` to now: only
 * purchases up to asOf count, so a report before the goal window has closed is provisional.
 */
export async function campaignReport(
  database: Database,
  idOrName: number | string,
  options: ReportOptions = {},
): Promise<CampaignReport> {
  const rule = options.attribution ?? 'last_touch';
  const asOf = options.asOf ?? new Date();
  const row = await findCampaign(database, idOrName);
  const current = await measure(database, row, rule, asOf);
  const holdout = current.holdout ? finish(current.holdout, null, current.basis) : null;
  const variants = current.variants.map((v) => finish(v, current.holdout, current.basis));
  const treated = finish(current.treated, current.holdout, current.basis);

  const dayMs = 86_400_000;
  const windowEnd = current.lastTouchAt ?? current.startedAt;
  const closesAt = windowEnd ? new Date(windowEnd.getTime() + row.goal_window_days * dayMs) : null;
  const closed =
    closesAt !== null && closesAt.getTime() <= asOf.getTime() && current.treated.notYetSent === 0;
  const winner = chooseWinner(variants, holdout);

  let previous: CampaignReport['previous'] = null;
  if (row.previous_campaign_id !== null) {
    const earlier = await measure(
      database,
      await findCampaign(database, row.previous_campaign_id),
      rule,
      asOf,
    );
    const earlierTreated = finish(earlier.treated, earlier.holdout, earlier.basis);
    previous = {
      campaign: {
        id: earlier.row.id,
        name: earlier.row.name,
        status: earlier.row.status,
        sendStartedAt: earlier.startedAt,
      },
      treated: earlierTreated,
      holdout: earlier.holdout ? finish(earlier.holdout, null, earlier.basis) : null,
      treatedDifference: compare(current.treated, earlier.treated),
    };
  }

  const notes: string[] = [];
  if (!closed) {
    notes.push(
      closesAt
        ? `The goal window closes on ${closesAt.toISOString()}: purchases until then can still count, so these numbers are provisional.`
        : 'Nothing has been sent yet.',
    );
  }
  if (current.basis === 'revenue') {
    notes.push(
      'Some credited products have no unit cost: profit after cost is revenue minus touch cost, not margin.',
    );
  }
  if (!holdout) notes.push('There is no holdout: lift cannot be measured, only variants against each other.');
  if (previous && previous.campaign.sendStartedAt === null)
    notes.push('The previous campaign was never sent.');

  return {
    campaign: {
      id: row.id,
      name: row.name,
      channel: row.channel,
      status: row.status,
      goal: {
        kind: row.goal_kind,
        productIds: row.goal_product_ids,
        category: row.goal_category,
        windowDays: row.goal_window_days,
      },
      sendStartedAt: current.startedAt,
      previousCampaignId: row.previous_campaign_id,
    },
    attribution: rule,
    asOf,
    confidence: REPORT_CONFIDENCE,
    goalWindow: { opensAt: current.startedAt, closesAt, closed },
    arms: holdout ? [...variants, holdout] : variants,
    treated,
    profitBasis: current.basis,
    winner: { ...winner, rule: WINNER_RULE, provisional: !closed },
    previous,
    notes,
  };
}

const pct = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : `${(value * 100).toFixed(2)}%`;
const signedPct = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(2)}`;

/** A plain-text rendering for the CLI. Money is shown as stored; `locale` formats the counts. */
export function renderCampaignReport(report: CampaignReport, options: { locale?: string } = {}): string {
  const locale = options.locale ?? 'en-US';
  const n = (value: number) => value.toLocaleString(locale);
  const money = (value: string | number | null) =>
    value === null
      ? '—'
      : Number(value).toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const label = (arm: ArmReport) =>
    arm.variant === null ? 'holdout' : arm.name ? `${arm.variant} (${arm.name})` : arm.variant;
  const rateCell = (arm: ArmReport) =>
    arm.responseRate.rate === null
      ? '—'
      : `${pct(arm.responseRate.rate)} (${pct(arm.responseRate.lower)}–${pct(arm.responseRate.upper)})`;
  const liftCell = (c: RateComparison | null) =>
    c ? `${signedPct(c.difference)} pt (${signedPct(c.lower)} to ${signedPct(c.upper)})` : '—';
  const { campaign } = report;
  const goal =
    campaign.goal.kind === 'any'
      ? 'any purchase'
      : campaign.goal.kind === 'product'
        ? `a purchase of product ${campaign.goal.productIds.join(', ')}`
        : `a purchase in category ${campaign.goal.category}`;
  const lines = [
    `Campaign ${campaign.id} "${campaign.name}" (${campaign.channel}, ${campaign.status})`,
    `Goal: ${goal} within ${campaign.goal.windowDays} days of the touch. Attribution: ${report.attribution.replace('_', ' ')}. As of ${report.asOf.toISOString()}.`,
    `Goal window: ${report.goalWindow.closed ? 'closed' : 'open'}${report.goalWindow.closesAt ? ` (closes ${report.goalWindow.closesAt.toISOString()})` : ''}.`,
    '',
  ];
  const rows = [
    ...report.arms,
    ...(report.arms.filter((a) => a.variant !== null).length > 1 ? [report.treated] : []),
  ];
  lines.push(
    formatTable(
      [
        'arm',
        'assigned',
        'sent',
        'suppressed',
        'responders',
        'response rate (95% CI)',
        'revenue',
        'per recipient',
      ],
      rows.map((arm) => [
        label(arm),
        n(arm.assigned),
        n(arm.recipients),
        n(arm.suppressed),
        n(arm.responders),
        rateCell(arm),
        money(arm.revenue),
        money(arm.revenuePerRecipient === null ? null : Math.round(arm.revenuePerRecipient * 100) / 100),
      ]),
    ),
  );
  lines.push('');
  lines.push(
    formatTable(
      [
        'arm',
        'lift vs holdout (95% CI)',
        'relative',
        'p-value',
        'cost',
        `profit after cost (${report.profitBasis})`,
        'incremental profit',
      ],
      rows
        .filter((arm) => arm.variant !== null)
        .map((arm) => [
          label(arm),
          liftCell(arm.vsHoldout),
          arm.vsHoldout?.relativeLift == null ? '—' : `${signedPct(arm.vsHoldout.relativeLift)}%`,
          arm.vsHoldout ? arm.vsHoldout.pValue.toPrecision(2) : '—',
          money(arm.cost),
          money(arm.profitAfterCost),
          arm.incremental ? money(arm.incremental.profitAfterCost) : '—',
        ]),
    ),
  );
  const suppressed = report.treated.suppressedByReason;
  if (Object.keys(suppressed).length > 0) {
    lines.push('', 'Not sent (contact policy):');
    for (const [reason, count] of Object.entries(suppressed).sort((a, b) => b[1] - a[1])) {
      lines.push(`  ${reason}: ${n(count)}`);
    }
  }
  lines.push(
    '',
    `Winner: ${report.winner.variant ?? 'no winner yet'}${report.winner.provisional ? ' (provisional)' : ''} — ${report.winner.reason}.`,
    `Rule: ${report.winner.rule}`,
  );
  if (report.previous) {
    const p = report.previous;
    lines.push('', `Version 2 vs version 1: compared with campaign ${p.campaign.id} "${p.campaign.name}"`);
    lines.push(
      formatTable(
        [
          'campaign',
          'sent',
          'responders',
          'response rate (95% CI)',
          'lift vs its holdout',
          'per recipient',
          'profit after cost',
        ],
        [
          [campaign.name, report.treated, report.treated.vsHoldout] as const,
          [p.campaign.name, p.treated, p.treated.vsHoldout] as const,
        ].map(([name, arm, lift]) => [
          name,
          n(arm.recipients),
          n(arm.responders),
          rateCell(arm),
          liftCell(lift),
          money(arm.revenuePerRecipient === null ? null : Math.round(arm.revenuePerRecipient * 100) / 100),
          money(arm.profitAfterCost),
        ]),
      ),
    );
    lines.push(
      p.treatedDifference
        ? `Difference of response rates (this − previous): ${liftCell(p.treatedDifference)}, p = ${p.treatedDifference.pValue.toPrecision(2)}.`
        : 'Difference of response rates: not measurable (a campaign has no recipients).',
    );
  }
  if (report.notes.length > 0) lines.push('', ...report.notes.map((note) => `Note: ${note}`));
  return `${lines.join('\n')}\n`;
}
