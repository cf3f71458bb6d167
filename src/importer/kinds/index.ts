import type { ImportKind, KindName } from '../kind.ts';
import { interactions, preferences, returns, touches } from './activity.ts';
import { customers } from './customers.ts';
import { orders } from './orders.ts';
import { products, staff, stores } from './reference-data.ts';

/** Every kind of record `kizuna import` takes, in the order a full import loads them. */
export const IMPORT_KINDS: Record<KindName, ImportKind> = {
  stores,
  staff,
  products,
  customers,
  orders,
  returns,
  touches,
  interactions,
  preferences,
};

export const KIND_NAMES = Object.keys(IMPORT_KINDS) as KindName[];
