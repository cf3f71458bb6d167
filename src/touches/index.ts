export {
  listCustomerTouches,
  recordTouch,
  TOUCH_CHANNELS,
  type Touch,
  type TouchFilter,
  TouchInput,
} from './touches.ts';
