import { canReadComplaintText } from '../auth/index.ts';
import type { Database, Role } from '../db/index.ts';

/**
 * Anything that carries what a customer wrote: an interaction (`kind`), or a timeline or 360 entry of
 * one, where `kind` is the event's kind and the interaction's kind is `interaction_kind` /
 * `interactionKind`. Any of the three saying 'complaint' makes it a complaint.
 */
export type RedactableInteraction = {
  body: string | null;
  kind?: string;
  interaction_kind?: string;
  interactionKind?: string;
};

export type Redacted<T extends RedactableInteraction> = T & { bodyRedacted: boolean };

/**
 * The complaint text rule in one place (MISSION: marketers need not read complaints; the owner chooses
 * the roles in settings). Complaints keep their subject and status, but their body comes back as null
 * with `bodyRedacted: true` for the roles that may not read it. Every reader of interactions — the lists
 * here and the customer 360 — goes through this function, so the rule cannot differ between screens.
 */
export async function redactForRole<T extends RedactableInteraction>(
  database: Database,
  role: Role,
  interactions: readonly T[],
): Promise<Redacted<T>[]> {
  const canRead = interactions.some(isComplaint) ? await canReadComplaintText(database, role) : true;
  return redactInteractions(interactions, canRead);
}

/** `redactForRole` for a caller that already knows whether the role may read complaint text. */
export function redactInteractions<T extends RedactableInteraction>(
  interactions: readonly T[],
  canReadComplaints: boolean,
): Redacted<T>[] {
  return interactions.map((interaction) =>
    !canReadComplaints && isComplaint(interaction)
      ? { ...interaction, body: null, bodyRedacted: true }
      : { ...interaction, bodyRedacted: false },
  );
}

const isComplaint = (interaction: RedactableInteraction) =>
  interaction.kind === 'complaint' ||
  interaction.interaction_kind === 'complaint' ||
  interaction.interactionKind === 'complaint';
