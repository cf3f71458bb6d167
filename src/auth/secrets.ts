import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import { KizunaError } from '../errors.ts';

export const MIN_PASSWORD_LENGTH = 12;

/** argon2id with the library's defaults (64 MiB, 3 passes): about 0.1 s per hash on this machine. */
export function hashPassword(password: string): Promise<string> {
  checkPasswordStrength(password);
  return argon2.hash(password, { type: argon2.argon2id });
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

export function checkPasswordStrength(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new KizunaError(
      'weak_password',
      `The password must have at least ${MIN_PASSWORD_LENGTH} characters`,
      { field: 'password' },
    );
  }
  if (password.length > 1024) {
    throw new KizunaError('invalid_request', 'The password is too long (at most 1024 characters)', {
      field: 'password',
    });
  }
}

/** A random secret as URL-safe text: 32 bytes (256 bits) unless told otherwise. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Session ids and API tokens are long random values, so a fast hash is enough to keep a stolen database
 * from yielding usable credentials (argon2 is for passwords, which are guessable).
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A password a person can type, for the first owner account and password resets (about 100 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let out = '';
  for (let i = 0; i < 20; i++) out += alphabet[randomInt(alphabet.length)];
  return out.match(/.{1,5}/g)!.join('-');
}
