export { requireNotErased } from './customer-state.ts';
export { fromCents, MoneyInput, normalizeMoney, toCents } from './money.ts';
export {
  createOrder,
  DEFAULT_CURRENCY,
  listCustomerOrders,
  MAX_ORDER_LINES,
  type Order,
  OrderInput,
  type OrderLine,
  OrderLineInput,
  type OrderResult,
  parseOrderInput,
  resolveOrderCustomer,
  type StoreRef,
} from './orders.ts';
export { DEFAULT_PAGE_SIZE, DEFAULT_PAGING, MAX_PAGE_SIZE, type Paging, pageOf } from './paging.ts';
export {
  createProduct,
  getProduct,
  listProducts,
  type Product,
  type ProductFilter,
  ProductInput,
  ProductPatch,
  updateProduct,
} from './products.ts';
export {
  createStore,
  getStore,
  listStores,
  type Store,
  StoreInput,
  StorePatch,
  updateStore,
} from './stores.ts';
export { validateWithPath } from './validate.ts';
