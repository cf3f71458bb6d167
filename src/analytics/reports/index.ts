export {
  type AcquisitionOptions,
  type AcquisitionReport,
  acquisitionReport,
  type ReferrerRow,
  type SourceRow,
} from './acquisition.ts';
export {
  type AtRiskCustomer,
  type AtRiskOptions,
  type AtRiskScope,
  atRiskCount,
  atRiskCustomers,
  type ChurnMonth,
  type ChurnOptions,
  type ChurnReport,
  churnReport,
  MIN_LAPSE_DAYS,
  SINGLE_PURCHASE_LAPSE_DAYS,
} from './churn.ts';
export {
  type Cohort,
  type CohortMonth,
  type CohortOptions,
  type CohortReport,
  cohortReport,
} from './cohorts.ts';
export {
  type ParetoOptions,
  type ParetoPoint,
  type ParetoReport,
  paretoOfMeasures,
  paretoReport,
} from './pareto.ts';
export {
  type CustomerProfit,
  type ProfitabilityOptions,
  type ProfitabilityReport,
  type ProfitFigures,
  profitability,
  type TierProfit,
} from './profitability.ts';
export {
  type ComeBack,
  type EntryStats,
  type RepeatDriverOptions,
  type RepeatDriverProductRow,
  type RepeatDriverRow,
  type RepeatDriversReport,
  type RepeatInterval,
  repeatDrivers,
} from './repeat-drivers.ts';
export type { Share } from './shared.ts';
