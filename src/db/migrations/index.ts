import type { Migration } from 'kysely';
import * as customerDatabase from './001-customer-database.ts';
import * as clv from './002-clv.ts';
import * as analytics from './003-analytics.ts';
import * as accounts from './004-accounts.ts';
import * as customerMerge from './006-customer-merge.ts';
import * as notebookPrivacy from './007-notebook-privacy.ts';
import * as incrementalMeasures from './008-incremental-measures.ts';
import * as segments from './009-segments.ts';
import * as campaigns from './010-campaigns.ts';
import * as tickets from './011-tickets.ts';
import * as sla from './012-sla.ts';
import * as flows from './013-flows.ts';
import * as analyticsDataVersion from './014-analytics-data-version.ts';
import * as measuresBoundaries from './015-measures-boundaries.ts';
import * as segmentFacts from './016-segment-facts.ts';
import * as segmentIndexes from './017-segment-indexes.ts';
import * as dropTierRank from './018-drop-tier-rank.ts';
import * as measuresRowsVersion from './019-measures-rows-version.ts';
import * as measuresRowsAutovacuum from './020-measures-rows-autovacuum.ts';
import * as transitionTablesWithoutJoins from './021-transition-tables-without-joins.ts';
import * as recencyScoreInView from './022-recency-score-in-view.ts';
import * as monthCutPoints from './023-month-cut-points.ts';
import * as touchesByCampaign from './024-touches-by-campaign.ts';

/** Every migration, in order. The name is the version; never rename or edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '001-customer-database': customerDatabase,
  '002-clv': clv,
  '003-analytics': analytics,
  '004-accounts': accounts,
  '006-customer-merge': customerMerge,
  '007-notebook-privacy': notebookPrivacy,
  '008-incremental-measures': incrementalMeasures,
  '009-segments': segments,
  '010-campaigns': campaigns,
  '011-tickets': tickets,
  '012-sla': sla,
  '013-flows': flows,
  '014-analytics-data-version': analyticsDataVersion,
  '015-measures-boundaries': measuresBoundaries,
  '016-segment-facts': segmentFacts,
  '017-segment-indexes': segmentIndexes,
  '018-drop-tier-rank': dropTierRank,
  '019-measures-rows-version': measuresRowsVersion,
  '020-measures-rows-autovacuum': measuresRowsAutovacuum,
  '021-transition-tables-without-joins': transitionTablesWithoutJoins,
  '022-recency-score-in-view': recencyScoreInView,
  '023-month-cut-points': monthCutPoints,
  '024-touches-by-campaign': touchesByCampaign,
};
