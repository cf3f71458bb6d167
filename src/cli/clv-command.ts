import { type Command, InvalidArgumentError } from 'commander';
import {
  type ClvValidation,
  DEFAULT_CLV_SETTINGS,
  fitClv,
  type PurchaseModelName,
  predictClv,
  validateClv,
} from '../analytics/clv/index.ts';
import { withDatabase } from './main.ts';
import { formatTable } from './output.ts';

const day = (value: string): string => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('must be a date YYYY-MM-DD');
  }
  return value;
};
const model = (value: string): PurchaseModelName => {
  if (value === 'bgnbd' || value === 'pareto-nbd' || value === 'pareto_nbd') {
    return value === 'bgnbd' ? 'bgnbd' : 'pareto_nbd';
  }
  throw new InvalidArgumentError('must be bgnbd or pareto-nbd');
};
const nonNegative = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number ≥ 0');
  return n;
};
const today = () => new Date().toISOString().slice(0, 10);

function formatParams(params: Record<string, number>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${v.toPrecision(4)}`)
    .join(' ');
}

export function formatValidation(v: ClvValidation): string {
  const buckets = formatTable(
    ['repeat purchases in calibration', 'customers', 'actual per customer', 'predicted per customer'],
    v.byFrequency.map((b) => [b.label, b.customers, b.actualMean.toFixed(3), b.predictedMean.toFixed(3)]),
  );
  const periods = formatTable(
    [
      `${v.unit === 'weeks' ? 'week' : 'day'} of holdout`,
      'actual',
      'predicted',
      'actual cumulative',
      'predicted cumulative',
    ],
    v.byPeriod.map((p) => [
      String(p.period),
      p.actual,
      p.predicted.toFixed(1),
      p.actualCumulative,
      p.predictedCumulative.toFixed(1),
    ]),
  );
  return [
    `${v.model} fitted on ${v.customers.toLocaleString('en-US')} customers, calibration to ${v.calibrationEnd}, holdout to ${v.holdoutEnd}`,
    `parameters: ${formatParams(v.params)}   log-likelihood ${v.report.logLikelihood.toFixed(1)} (${v.report.iterations} iterations, gradient norm ${v.report.gradientNorm.toExponential(1)})`,
    '',
    buckets,
    '',
    periods,
    '',
    `holdout repeat purchases: actual ${v.totals.actual.toLocaleString('en-US')}, predicted ${v.totals.predicted.toFixed(1)} ` +
      `(${(((v.totals.predicted - v.totals.actual) / Math.max(1, v.totals.actual)) * 100).toFixed(1)} %); ` +
      `mean absolute error per customer ${v.totals.meanAbsoluteError.toFixed(3)}`,
  ].join('\n');
}

export function registerClvCommand(program: Command): void {
  const clv = program
    .command('clv')
    .description('customer lifetime value: fit the models, predict, validate');
  clv
    .command('fit')
    .description(
      'fit the purchase model (BG/NBD or Pareto/NBD) and Gamma-Gamma spend on all purchases up to a date',
    )
    .option('--calibration-end <date>', 'last day of data to fit on (default today)', day)
    .option('--model <name>', 'bgnbd or pareto-nbd', model, 'bgnbd' as PurchaseModelName)
    .option('--unit <unit>', 'weeks or days', 'weeks')
    .option('--penalizer <x>', 'L2 penalty on the parameters', nonNegative, 0)
    .action(
      async (o: {
        calibrationEnd?: string;
        model: PurchaseModelName;
        unit: 'weeks' | 'days';
        penalizer: number;
      }) => {
        const fitted = await withDatabase((database) =>
          fitClv(database, {
            calibrationEnd: o.calibrationEnd ?? today(),
            model: o.model,
            unit: o.unit,
            penalizer: o.penalizer,
          }),
        );
        console.log(
          `model #${fitted.modelId}: ${fitted.model} on ${fitted.customers.toLocaleString('en-US')} customers`,
        );
        console.log(
          `  purchases: ${formatParams(fitted.purchaseParams)}  (log-likelihood ${fitted.purchaseReport.logLikelihood.toFixed(1)}, ${fitted.purchaseReport.iterations} iterations)`,
        );
        if (fitted.spendParams) console.log(`  spend:     ${formatParams(fitted.spendParams)}`);
      },
    );
  clv
    .command('predict')
    .description(
      'store per-customer expected purchases, probability alive and lifetime value from the latest model',
    )
    .option('--horizon-months <n>', 'CLV horizon in months', nonNegative, DEFAULT_CLV_SETTINGS.horizonMonths)
    .option(
      '--discount <rate>',
      'monthly discount rate',
      nonNegative,
      DEFAULT_CLV_SETTINGS.monthlyDiscountRate,
    )
    .option('--margin <share>', 'profit margin as a share of spend', nonNegative, DEFAULT_CLV_SETTINGS.margin)
    .action(async (o: { horizonMonths: number; discount: number; margin: number }) => {
      const result = await withDatabase((database) =>
        predictClv(database, {
          horizonMonths: o.horizonMonths,
          monthlyDiscountRate: o.discount,
          margin: o.margin,
        }),
      );
      console.log(
        `${result.customers.toLocaleString('en-US')} customers valued with model #${result.modelId}; customer equity ${result.equity.toLocaleString('en-US', { maximumFractionDigits: 0 })}`,
      );
    });
  clv
    .command('validate')
    .description(
      'fit on a calibration period and compare predicted with actual purchases in the holdout period',
    )
    .requiredOption('--calibration-end <date>', 'last day of the calibration period', day)
    .option('--holdout-end <date>', 'last day of the holdout period (default: the last purchase day)', day)
    .option('--model <name>', 'bgnbd or pareto-nbd', model, 'bgnbd' as PurchaseModelName)
    .option('--unit <unit>', 'weeks or days', 'weeks')
    .option('--json', 'print JSON (for charts)')
    .action(
      async (o: {
        calibrationEnd: string;
        holdoutEnd?: string;
        model: PurchaseModelName;
        unit: 'weeks' | 'days';
        json?: boolean;
      }) => {
        const validation = await withDatabase((database) =>
          validateClv(database, {
            calibrationEnd: o.calibrationEnd,
            holdoutEnd: o.holdoutEnd,
            model: o.model,
            unit: o.unit,
          }),
        );
        console.log(o.json ? JSON.stringify(validation, null, 2) : formatValidation(validation));
      },
    );
}
