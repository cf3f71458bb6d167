import { z } from 'zod';
import { customerClv, customerEquity, latestClvModel, validateClv } from '../analytics/clv/index.ts';
import { KizunaError } from '../errors.ts';
import { CustomerKeyParams, customerFromParams } from './customer-access.ts';
import type { RouteDoc } from './openapi.ts';
import { allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');

export const ValidationQuery = z.object({
  calibrationEnd: day,
  holdoutEnd: day.optional(),
  model: z.enum(['bgnbd', 'pareto_nbd']).optional(),
  unit: z.enum(['weeks', 'days']).optional(),
});

/** Customer lifetime value: the fitted model, the holdout validation report, customer equity, one customer's values. */
export const clvRoutes: RouteModule = (app, { database }) => {
  app.get('/api/clv/model', allow('reports:read'), async () => {
    const model = await latestClvModel(database);
    if (!model) throw new KizunaError('no_clv_model', 'No CLV model has been fitted yet', { status: 404 });
    return model;
  });

  app.get('/api/clv/equity', allow('reports:read'), async () => customerEquity(database));

  app.get('/api/clv/validation', allow('reports:read'), async (request) =>
    validateClv(database, parseInput(ValidationQuery, request.query)),
  );

  app.get('/api/customers/:id/clv', allow('customers:read'), async (request) => {
    const customerId = await customerFromParams(request, database);
    const values = await customerClv(database, customerId);
    if (!values) {
      throw new KizunaError(
        'not_valued',
        'This customer has no lifetime value yet (run `kizuna clv predict`)',
        { status: 404 },
      );
    }
    return { customerId, ...values };
  });
};

export const clvRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/clv/model',
    tag: 'lifetime value',
    summary:
      'The latest fitted CLV model: purchase and spend parameters, convergence report, standard errors.',
    responses: { 200: 'the model', 404: 'no model fitted yet (run `kizuna clv fit`)' },
  },
  {
    method: 'GET',
    path: '/api/clv/equity',
    tag: 'lifetime value',
    summary:
      'Customer equity (the sum of all customers’ CLV) and its change since the valuation about a month before.',
    responses: { 200: '{customers, equity, computedAt, previous, change}' },
  },
  {
    method: 'GET',
    path: '/api/clv/validation',
    tag: 'lifetime value',
    summary:
      'Fit on a calibration period and compare predicted with actual purchases in the holdout (for charts).',
    query: ValidationQuery,
    responses: {
      200: '{params, report, byFrequency, byPeriod, totals}',
      400: 'invalid dates or too little history',
    },
  },
  {
    method: 'GET',
    path: '/api/customers/:id/clv',
    tag: 'lifetime value',
    summary:
      "One customer's expected purchases next year, probability alive, expected spend and lifetime value.",
    params: CustomerKeyParams,
    responses: { 200: 'the values and the model they came from', 404: 'no such customer, or not valued yet' },
  },
];
