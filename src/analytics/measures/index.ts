export { computeCutPoints, cutPositions, PERCENTILES } from './cut-points.ts';
export {
  BASE_COLUMNS,
  baseSelect,
  type CutPoints,
  finalSelect,
  keyedSelect,
  MEASURE_COLUMNS,
  type RankKey,
  RFM_GROUPS,
  type RfmGroup,
  ROW_COLUMNS,
} from './measures-sql.ts';
export {
  type RefreshMode,
  type RefreshOptions,
  type RefreshResult,
  type RefreshStep,
  refreshMeasures,
} from './refresh.ts';
export {
  currentTierShares,
  DISTRIBUTION_BINS,
  type DistributionMeasure,
  type HistogramBin,
  type RfmCellRow,
  type RfmGroupRow,
  type RfmReport,
  rfmReport,
  TIERS,
  type TierDistribution,
  type TierOrNone,
  type TierScope,
  type TierShareOptions,
  type TierShareRow,
  type TierTransition,
  tierDistributions,
  tierShares,
  tierTransitions,
} from './reports.ts';
export {
  asOfDay,
  DEFAULT_TIER_SETTINGS,
  type MeasuresSettings,
  type MeasuresSettingsInput,
  type RfmCutPoints,
  resolveSettings,
  type TierSettings,
  type TierWeights,
} from './settings.ts';
export { monthEnds, type SnapshotOptions, type SnapshotResult, snapshotTiers } from './snapshots.ts';
