export { BUILTIN_FLOWS, builtinFlow, enableBuiltinFlow, installBuiltinFlow } from './builtin.ts';
export { type Clock, SimulatedClock, systemClock } from './clock.ts';
export { type FlowDefinition, parseDefinition, TRIGGER_TYPES } from './definition.ts';
export { type BatchResult, type EngineOptions, runBatch } from './engine.ts';
export { EventInput, recordEvent } from './events.ts';
export {
  createFlow,
  type Flow,
  FlowInput,
  FlowUpdate,
  flowVersions,
  getFlow,
  listFlows,
  setFlowEnabled,
  updateFlow,
} from './flows.ts';
export { type StepMailer, smtpStepMailer, stepMessageId } from './mailer.ts';
export { type FlowReport, flowReport, renderFlowReport } from './report.ts';
export { claimJobs } from './scheduler.ts';
export { completeFlowTask, type FlowTask, listFlowTasks, TaskDone, TaskQuery } from './tasks.ts';
export { scanTriggers } from './triggers.ts';
export { runWorker, type TickResult, tick, type WorkerOptions } from './worker.ts';
