import { z } from 'zod';
import { ATTRIBUTION_RULES } from '../campaigns/attribution.ts';
import { campaignReport } from '../campaigns/report.ts';
import { CampaignParams } from './campaign.routes.ts';
import type { RouteDoc } from './openapi.ts';
import { allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { asOfDate } from './segment.routes.ts';
import { parseInput } from './validation.ts';

export const CampaignReportQuery = z.strictObject({
  attribution: z
    .enum(ATTRIBUTION_RULES)
    .optional()
    .describe('which touch gets a purchase several campaigns claim: last_touch (default) or first_touch'),
  asOf: z
    .union([z.iso.date(), z.iso.datetime({ offset: true })])
    .optional()
    .describe('count purchases up to this moment (a date means the end of that day, UTC); default now'),
});

const Timestamp = z.iso.datetime().describe('ISO 8601, UTC');
const Money = z.string().describe('exact amount, e.g. "1234.50"');
const Rate = z.object({
  rate: z.number().nullable().describe('responders / recipients'),
  lower: z.number().nullable().describe('Wilson 95 % interval'),
  upper: z.number().nullable(),
});
const Comparison = z.object({
  difference: z.number().describe('absolute difference of the response rates'),
  lower: z.number().describe("Newcombe's 95 % interval"),
  upper: z.number(),
  relativeLift: z.number().nullable().describe('rate / other rate − 1'),
  pValue: z.number().describe('pooled two-proportion z-test, two-sided'),
});
const Arm = z.object({
  variant: z
    .string()
    .nullable()
    .describe('variant code; null for the holdout; "treated" for all variants pooled'),
  name: z.string().nullable(),
  assigned: z.number().int(),
  recipients: z.number().int().describe('sent; for the holdout every member'),
  suppressed: z.number().int(),
  suppressedByReason: z.record(z.string(), z.number().int()),
  failed: z.number().int(),
  bounced: z.number().int(),
  notYetSent: z.number().int(),
  responders: z.number().int(),
  purchases: z.number().int(),
  responseRate: Rate,
  revenue: Money,
  revenuePerRecipient: z.number().nullable(),
  cost: Money,
  grossMargin: Money.nullable(),
  profitAfterCost: Money,
  vsHoldout: Comparison.nullable(),
  revenuePerRecipientVsHoldout: z
    .object({ difference: z.number(), lower: z.number(), upper: z.number() })
    .nullable()
    .describe("Welch's 95 % interval"),
  incremental: z
    .object({ responders: z.number(), revenue: z.number(), profitAfterCost: z.number() })
    .nullable()
    .describe('beyond what the holdout says these recipients would have done anyway'),
});

/** The JSON answer of GET /api/campaigns/:id/report (CampaignReport with dates as ISO strings). */
export const CampaignReportResponse = z.object({
  campaign: z.object({
    id: z.number().int(),
    name: z.string(),
    channel: z.string(),
    status: z.string(),
    goal: z.object({
      kind: z.enum(['any', 'product', 'category']),
      productIds: z.array(z.number().int()),
      category: z.string().nullable(),
      windowDays: z.number().int(),
    }),
    sendStartedAt: Timestamp.nullable(),
    previousCampaignId: z.number().int().nullable(),
  }),
  attribution: z.enum(ATTRIBUTION_RULES),
  asOf: Timestamp,
  confidence: z.number(),
  goalWindow: z.object({
    opensAt: Timestamp.nullable(),
    closesAt: Timestamp.nullable(),
    closed: z.boolean(),
  }),
  arms: z.array(Arm),
  treated: Arm,
  profitBasis: z.enum(['margin', 'revenue']),
  winner: z.object({
    variant: z.string().nullable(),
    rule: z.string(),
    reason: z.string(),
    provisional: z.boolean().describe('the goal window is still open'),
  }),
  previous: z
    .object({
      campaign: z.object({
        id: z.number().int(),
        name: z.string(),
        status: z.string(),
        sendStartedAt: Timestamp.nullable(),
      }),
      treated: Arm,
      holdout: Arm.nullable(),
      treatedDifference: Comparison.nullable().describe('this campaign − the previous one, variants pooled'),
    })
    .nullable(),
  notes: z.array(z.string()),
});

/** The measured result of a campaign: responders, lift with its interval, winner, cost and profit. */
export const campaignReportRoutes: RouteModule = (app, { database }) => {
  app.get('/api/campaigns/:id/report', allow('reports:read'), async (request) => {
    const { id } = parseInput(CampaignParams, request.params);
    const query = parseInput(CampaignReportQuery, request.query);
    return campaignReport(database, Number(id), {
      attribution: query.attribution,
      asOf: query.asOf === undefined ? undefined : asOfDate(query.asOf),
    });
  });
};

export const campaignReportRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/campaigns/:id/report',
    tag: 'campaigns',
    summary:
      'The campaign report: responders per variant and holdout, lift with a 95 % interval, the winner.',
    description:
      'Per variant and for the holdout: assigned, sent, suppressed (by reason), responders, response rate with ' +
      "Wilson's 95 % interval, revenue, revenue per recipient, lift over the holdout (Newcombe's 95 % interval, " +
      'relative lift, p-value), cost, profit after cost and incremental profit; the winner by the stated rule; ' +
      '"version 2 vs version 1" when the campaign follows another. Purchases count up to `asOf`; until the goal ' +
      'window has closed the numbers are provisional. See docs/campaigns.md "Reading the report".',
    params: CampaignParams,
    query: CampaignReportQuery,
    response: CampaignReportResponse,
    responses: {
      200: 'the report',
      400: 'a parameter is invalid',
      403: 'not allowed (needs reports:read)',
      404: 'no such campaign',
    },
  },
];
