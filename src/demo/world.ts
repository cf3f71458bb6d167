import { type DemoOptions, type DemoParams, resolveOptions } from './params.ts';
import { Rng, seedWords } from './random.ts';

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;
/** Japan Standard Time is UTC+9 all year (no daylight saving), so local clock times are a fixed offset. */
export const JST_OFFSET_MS = 9 * HOUR_MS;

/**
 * Independent random streams per customer. Each part of a customer's story has its own stream, so that
 * e.g. the BG/NBD draws do not change when the name generator changes, and the purchase process can be
 * replayed without generating names.
 */
export const STAGE = {
  profile: 1,
  latent: 2,
  lens: 3,
  identity: 4,
  spend: 5,
  returns: 6,
  touches: 7,
  interactions: 8,
  preferences: 9,
  tags: 10,
  glasses: 11,
} as const;
export type Stage = keyof typeof STAGE;

/** Everything shared by all customers of one demo: the resolved options and the time frame. */
export type World = {
  customers: number;
  seed: number;
  seedLow: number;
  seedHigh: number;
  params: DemoParams;
  asOfMs: number;
  /**
   * The acquisition window in model time: [startMs, modelEndMs), years long, where modelEndMs is the last
   * model instant whose shop-clock time is ≤ asOf (see shopTime).
   */
  startMs: number;
  modelEndMs: number;
  spanMs: number;
};

export function createWorld(options: DemoOptions): World {
  const { customers, seed, asOf, params } = resolveOptions(options);
  const [seedLow, seedHigh] = seedWords(seed);
  const asOfMs = floorSecond(asOf.getTime());
  const spanMs = Math.round(params.years * 365.25 * DAY_MS);
  const modelEndMs = modelTimeAtOrBefore(asOfMs);
  return {
    customers,
    seed,
    seedLow,
    seedHigh,
    params,
    asOfMs,
    startMs: modelEndMs - spanMs,
    modelEndMs,
    spanMs,
  };
}

const OPEN_HOUR = 10;
const CLOSE_HOUR = 20;
const OPEN_MS = (CLOSE_HOUR - OPEN_HOUR) * HOUR_MS;

/**
 * The shop clock. The models run in continuous model time, where a purchase may fall at 3 a.m.; shops are
 * open 10:00–20:00 JST. shopTime squeezes each JST day of model time linearly into that day's opening
 * hours. It is strictly increasing and commutes with whole-day shifts (shopTime(s + k days) = shopTime(s) +
 * k days), so the number of events in any window of whole days after an event is exactly the same on both
 * clocks: counting orders in the t weeks after the first order gives the model's X(t) unchanged, and the
 * latent file's weeks (model time) stay exact. Events move by less than a day.
 */
export function shopTime(modelMs: number): number {
  const local = modelMs + JST_OFFSET_MS;
  const dayStart = Math.floor(local / DAY_MS) * DAY_MS;
  return dayStart + OPEN_HOUR * HOUR_MS + ((local - dayStart) / DAY_MS) * OPEN_MS - JST_OFFSET_MS;
}

/** The inverse of shopTime at a boundary: the largest model time whose shop-clock time is ≤ calendarMs. */
export function modelTimeAtOrBefore(calendarMs: number): number {
  const local = calendarMs + JST_OFFSET_MS;
  const dayStart = Math.floor(local / DAY_MS) * DAY_MS;
  const sinceOpen = local - dayStart - OPEN_HOUR * HOUR_MS;
  // Before opening, the last model instant of the previous day; after closing, the last of this day.
  if (sinceOpen < 0) return dayStart - 1 - JST_OFFSET_MS;
  if (sinceOpen >= OPEN_MS) return dayStart + DAY_MS - 1 - JST_OFFSET_MS;
  return dayStart + (sinceOpen / OPEN_MS) * DAY_MS - JST_OFFSET_MS;
}

export function rngFor(world: World, index: number, stage: Stage): Rng {
  return new Rng(world.seedLow, world.seedHigh, index, STAGE[stage]);
}

export function floorSecond(ms: number): number {
  return Math.floor(ms / SECOND_MS) * SECOND_MS;
}

const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
/** 'YYYY-MM-DDT' per day number; a demo spans a few thousand days at most, so the cache stays small. */
const DAY_PREFIXES = new Map<number, string>();

/**
 * ISO 8601 UTC to the second, e.g. 2025-03-01T10:15:00Z (the importer's timestamp format). Formatting was
 * an eighth of the generator's time with Date#toISOString, so the date part is cached per day and the
 * time of day is assembled from lookup strings.
 */
export function isoTime(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let prefix = DAY_PREFIXES.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    DAY_PREFIXES.set(day, prefix);
  }
  const seconds = Math.floor((ms - day * DAY_MS) / SECOND_MS);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return `${prefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds % 60]}Z`;
}

/** An optional timestamp: '' when the event has not happened by asOf. */
export function isoTimeUntil(ms: number | null, asOfMs: number): string {
  return ms === null || ms > asOfMs ? '' : isoTime(ms);
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Shortest decimal that round-trips to 8 significant digits: small enough for CSV, exact enough for tests. */
export function decimal(value: number): string {
  return String(Number(value.toPrecision(8)));
}
