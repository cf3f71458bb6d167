import { type Actor, CLI_ACTOR } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { type SendOptions, type SendResult, sendCampaign } from './send.ts';

/**
 * The scheduler sends as the system: whoever set the campaign's scheduled time needed campaigns:send to do
 * so (createCampaign checks it). It acts inside the server's own process, like the command line.
 */
const SCHEDULER: Actor = { ...CLI_ACTOR, name: 'campaign scheduler' };

/**
 * Sends every campaign whose scheduled time has come (draft or assigned, `scheduled_at` ≤ now), oldest
 * first, one after the other. A campaign already sending, sent or cancelled is left alone, so calling this
 * again (each tick of the worker) sends nothing twice; a send interrupted by a crash is resumed by the
 * next call like any send (rows left 'sending' go again after `staleAfterMs`).
 */
export async function sendDueCampaigns(
  database: Database,
  options: Omit<SendOptions, 'now'> & { now?: Date },
): Promise<SendResult[]> {
  const now = options.now ?? new Date();
  const due = await database.db
    .selectFrom('campaigns')
    .select('id')
    .where('scheduled_at', '<=', now)
    .where('status', 'in', ['draft', 'assigned'])
    .orderBy('scheduled_at')
    .orderBy('id')
    .execute();
  const results: SendResult[] = [];
  for (const { id } of due) {
    results.push(await sendCampaign(database, SCHEDULER, Number(id), { ...options, now: () => now }));
  }
  return results;
}
