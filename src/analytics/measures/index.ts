export {
  BASE_COLUMNS,
  baseSelect,
  MEASURE_COLUMNS,
  measuresSelect,
  RFM_GROUPS,
  type RfmGroup,
  rankedSelect,
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
