import type { InteractionKind } from '../db/index.ts';

/**
 * What a customer wrote in a complaint is shown only to roles the owner has not excluded (settings:
 * `hideComplaintTextFrom`, marketers by default); the subject and status stay visible so that everyone
 * knows there was a problem. A small local helper: src/service had no shared redaction function yet.
 */
export type WithComplaintText = { interaction_kind: InteractionKind; body: string | null };

/** The item with its body removed when it is a complaint the reader may not read; `body_hidden` says so. */
export function hideComplaintText<T extends WithComplaintText>(
  item: T,
  canReadComplaintText: boolean,
): T & { body_hidden: boolean } {
  const hidden = !canReadComplaintText && item.interaction_kind === 'complaint' && item.body !== null;
  return { ...item, body: hidden ? null : item.body, body_hidden: hidden };
}
