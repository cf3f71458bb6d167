import type { Database } from '../db/index.ts';
import { type Clock, systemClock } from './clock.ts';
import { type BatchTimings, type EngineOptions, runBatch } from './engine.ts';
import type { StepMailer } from './mailer.ts';
import { LeaseLostError, nextDueAt } from './scheduler.ts';
import { type ScanResult, scanTriggers } from './triggers.ts';

export type TickResult = {
  entered: ScanResult[];
  executed: number;
  retried: number;
  batches: number;
  /** Execution time − due time of every job run, in ms. */
  lags: number[];
  /** Milliseconds spent in each phase, summed over the tick's batches. */
  timings: BatchTimings;
};

export type WorkerOptions = Omit<EngineOptions, 'clock' | 'mailer'> & {
  clock?: Clock;
  mailer: StepMailer;
  /** At most this many batches per tick (the rest waits for the next tick). */
  maxBatches?: number;
  /** Scan the triggers in this tick (default yes). */
  scan?: boolean;
};

/**
 * One tick of the flow worker: scan the triggers of the switched-on flows, then run due jobs batch after
 * batch until none is due (a step whose successor is due at once — a send after a branch — runs in the
 * same tick).
 */
export async function tick(database: Database, options: WorkerOptions): Promise<TickResult> {
  const clock = options.clock ?? systemClock;
  const entered = options.scan === false ? [] : await scanTriggers(database, clock);
  const result: TickResult = {
    entered,
    executed: 0,
    retried: 0,
    batches: 0,
    lags: [],
    timings: { claim: 0, goal: 0, steps: 0, policy: 0, mail: 0, record: 0 },
  };
  const maxBatches = options.maxBatches ?? 1000;
  while (result.batches < maxBatches) {
    let batch: Awaited<ReturnType<typeof runBatch>>;
    try {
      batch = await runBatch(database, { ...options, clock });
    } catch (error) {
      // Another worker took these jobs over after our lease ran out: they are theirs now.
      if (error instanceof LeaseLostError) continue;
      throw error;
    }
    if (batch.claimed === 0) break;
    result.batches++;
    result.executed += batch.executed;
    result.retried += batch.retried;
    for (const lag of batch.lags) result.lags.push(lag);
    for (const [phase, ms] of Object.entries(batch.timings ?? {})) {
      result.timings[phase as keyof BatchTimings] += ms;
    }
  }
  return result;
}

/**
 * Runs ticks until `signal` aborts: after a tick the worker sleeps until the next job is due, at most
 * `pollMs` (new trigger occurrences are found at the next tick).
 */
export async function runWorker(
  database: Database,
  options: WorkerOptions & {
    signal?: AbortSignal;
    pollMs?: number;
    onTick?(result: TickResult): void;
    onError?(error: unknown): void;
  },
): Promise<void> {
  const clock = options.clock ?? systemClock;
  const pollMs = options.pollMs ?? 30_000;
  while (!options.signal?.aborted) {
    try {
      const result = await tick(database, options);
      options.onTick?.(result);
    } catch (error) {
      options.onError?.(error);
    }
    if (options.signal?.aborted) break;
    const next = await nextDueAt(database).catch(() => null);
    const wait = next ? Math.min(pollMs, Math.max(0, next.getTime() - clock.now().getTime())) : pollMs;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(wait, 50));
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
