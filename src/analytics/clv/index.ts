/**
 * Customer lifetime value: purchase-count models (BG/NBD, Pareto/NBD), the Gamma-Gamma spend model, the
 * shared maximum-likelihood fitter, discounted CLV, and the database-facing service.
 *
 * Every model file has the same shape (logLikelihood, logLikelihoodCustomer, fit…, expectedPurchases,
 * probabilityAlive, …), so the models are exported as namespaces (`bgNbd.expectedPurchases`,
 * `paretoNbd.expectedPurchases`); the names that are unique (types, fit functions, Gamma-Gamma's
 * predictions) are also exported directly.
 */
export * as bgNbd from './bgnbd.ts';
export { type BgNbdFit, type BgNbdFitOptions, type BgNbdParams, fitBgNbd } from './bgnbd.ts';
export * from './clv.ts';
export * from './clv-service.ts';
export * from './fitter.ts';
export * as gammaGamma from './gamma-gamma.ts';
export {
  conditionalExpectedValue,
  conditionalExpectedValueVector,
  fitGammaGamma,
  type GammaGammaFit,
  type GammaGammaFitOptions,
  type GammaGammaParams,
} from './gamma-gamma.ts';
export * as paretoNbd from './pareto-nbd.ts';
export {
  fitParetoNbd,
  type ParetoNbdFit,
  type ParetoNbdFitOptions,
  type ParetoNbdParams,
} from './pareto-nbd.ts';
export * from './rfm.ts';
export * from './summary.ts';
