import { createHmac } from 'node:crypto';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { randomSecret, sameSecret } from './secrets.ts';

/**
 * Links a customer opens without signing in (unsubscribe, a satisfaction question): the link carries
 * what it is for and for whom, signed with HMAC-SHA256 under the shop's link secret, so nobody can
 * forge one for another customer or purpose. The secret is `KIZUNA_LINK_SECRET` when set (several
 * servers on one database must share it), else a random one kept in the settings table on first use.
 *
 * Token format: base64url(JSON payload) "." base64url(HMAC). The payload holds ids, never personal data.
 */
export type LinkPayload = {
  /** What the link does, e.g. 'unsubscribe' or 'csat'; a token for one purpose is refused for another. */
  purpose: string;
  /** The customer (or ticket, …) the link acts on, and any further ids the purpose needs. */
  subject: number;
  extra?: Record<string, string | number>;
  /** Expiry, seconds since the epoch; absent: the link does not expire. */
  exp?: number;
};

const SETTING_KEY = 'link_secret';
const secrets = new WeakMap<Database, Promise<string>>();

async function readOrCreateSecret(database: Database): Promise<string> {
  const fromEnvironment = process.env.KIZUNA_LINK_SECRET;
  if (fromEnvironment) return fromEnvironment;
  const candidate = randomSecret();
  // Two processes starting at once: the first insert wins and both read the same row back.
  await database.db
    .insertInto('settings')
    .values({ key: SETTING_KEY, value: JSON.stringify({ secret: candidate }) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await database.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', SETTING_KEY)
    .executeTakeFirstOrThrow();
  return String((row.value as { secret: string }).secret);
}

function linkSecret(database: Database): Promise<string> {
  let secret = secrets.get(database);
  if (!secret) {
    secret = readOrCreateSecret(database);
    secret.catch(() => secrets.delete(database));
    secrets.set(database, secret);
  }
  return secret;
}

function mac(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

export async function signLink(database: Database, payload: LinkPayload): Promise<string> {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(await linkSecret(database), body)}`;
}

/** The payload of a genuine, unexpired token for `purpose`; otherwise 400 `invalid_link`. */
export async function verifyLink(
  database: Database,
  token: string,
  purpose: string,
  now: Date = new Date(),
): Promise<LinkPayload> {
  const refuse = (why: string) => new KizunaError('invalid_link', `This link is not valid: ${why}`);
  const [body, signature, rest] = token.split('.');
  if (!body || !signature || rest !== undefined) throw refuse('it is incomplete');
  if (!sameSecret(signature, mac(await linkSecret(database), body)))
    throw refuse('the signature does not match');
  let payload: LinkPayload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkPayload;
  } catch {
    throw refuse('it cannot be read');
  }
  if (payload.purpose !== purpose) throw refuse(`it is not a ${purpose} link`);
  if (payload.exp !== undefined && payload.exp * 1000 < now.getTime()) throw refuse('it has expired');
  return payload;
}
