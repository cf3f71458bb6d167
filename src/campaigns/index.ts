export { type AssignmentResult, assignCampaign, memberHash } from './assignment.ts';
export {
  CAMPAIGN_CHANNELS,
  CAMPAIGN_PURPOSES,
  type Campaign,
  CampaignInput,
  type CampaignSummary,
  CloneInput,
  cancelCampaign,
  cloneCampaign,
  createCampaign,
  DEFAULT_COST_PER_TOUCH,
  getCampaign,
  listCampaigns,
  recipientCounts,
} from './campaigns.ts';
export {
  type ChannelSender,
  type Delivery,
  messageIdOf,
  type OutgoingRecipient,
  touchKeyOf,
} from './channels/channel.ts';
export { emailChannel, publicUrl, smtpTransport, unsubscribeUrl } from './channels/email.ts';
export { campaignLetters, letterChannel, lettersCsv, lettersPdf } from './channels/letter.ts';
export { CALL_OUTCOMES, CallOutcomeInput, callList, callListCsv, logCallOutcome } from './channels/phone.ts';
export {
  CONSENT_FOR,
  type ContactPolicy,
  ContactPolicyPatch,
  ContactPolicySchema,
  checkContactPolicy,
  DEFAULT_CONTACT_POLICY,
  type Refusal,
  readContactPolicy,
  refusalReasons,
  updateContactPolicy,
} from './contact-policy.ts';
export {
  type CaughtMail,
  listCaughtMails,
  type MailCatcher,
  setDemoMailCatcher,
  startMailCatcher,
} from './mail-catcher.ts';
export { type CampaignPreview, previewCampaign } from './preview.ts';
export { recordBounce, unsubscribe } from './responses.ts';
export { sendDueCampaigns } from './schedule.ts';
export { type SendOptions, type SendProgress, type SendResult, sendCampaign } from './send.ts';
export { defaultSenders } from './senders.ts';
