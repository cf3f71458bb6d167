import { registerCondition } from '../rules.ts';
import { consent, interaction, preference, touch } from './contact.ts';
import {
  accountOwner,
  acquisitionSource,
  age,
  birthdayMonth,
  customField,
  doNotContact,
  homeStore,
  tag,
} from './customer.ts';
import { measure, RFM_GROUPS, rfm, TIERS, tier } from './measure.ts';
import { firstPurchase, lastPurchase, purchased } from './purchase.ts';

/** The built-in condition kinds; other modules call registerCondition for theirs. */
registerCondition(purchased);
registerCondition(lastPurchase);
registerCondition(firstPurchase);
registerCondition(tier);
registerCondition(rfm);
registerCondition(measure);
registerCondition(tag);
registerCondition(customField);
registerCondition(homeStore);
registerCondition(acquisitionSource);
registerCondition(accountOwner);
registerCondition(birthdayMonth);
registerCondition(age);
registerCondition(doNotContact);
registerCondition(consent);
registerCondition(touch);
registerCondition(interaction);
registerCondition(preference);

export { RFM_GROUPS, TIERS };
