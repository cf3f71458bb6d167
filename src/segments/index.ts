import './conditions/index.ts';

export {
  compileRules,
  explainSegment,
  memberCountQuery,
  memberIdsQuery,
  type SegmentScope,
  withDatabaseFacts,
} from './compile.ts';
export { RFM_GROUPS, TIERS } from './conditions/index.ts';
export { evaluateMembers, evaluateRules, loadCustomerRows } from './evaluate.ts';
export {
  type CompileContext,
  type Condition,
  type ConditionDescription,
  type ConditionKind,
  type CustomerRows,
  conditionKinds,
  describeConditions,
  type EvaluateContext,
  formatPath,
  parseRules,
  type RuleNode,
  RuleTreeInput,
  registerCondition,
} from './rules.ts';
export {
  countSegment,
  DEFAULT_PREVIEW_LIMIT,
  evaluateSegment,
  getSegment,
  listSegments,
  MAX_PREVIEW_LIMIT,
  type PreviewCustomer,
  previewSegment,
  type SavedSegment,
  type Snapshot,
  saveSegment,
  segmentCsv,
  segmentHistory,
  snapshotMembers,
  snapshotSegment,
} from './segments.ts';
export { type SegmentTemplate, TEMPLATES, templateRules } from './templates.ts';
