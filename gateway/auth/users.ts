import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { DEMO_USERS } from '../../src/core/auth/roles.js';
import { hashPassword, verifyPassword } from './passwords.js';

/** Seeds the demo users once (idempotent). Only called in demo mode. */
export async function seedDemoUsers(db: Kysely<DB>): Promise<void> {
  for (const u of DEMO_USERS) {
    const exists = await db.selectFrom('users').select('id').where('username', '=', u.username).executeTakeFirst();
    if (exists) continue;
    await db
      .insertInto('users')
      .values({ username: u.username, display_name: u.displayName, role: u.role, password_hash: hashPassword(u.password), locked_until: null, created_at: new Date().toISOString() })
      .execute();
  }
}

/** Outside demo mode the gateway refuses to start while any user still has a published demo password. */
export async function usersWithDemoPasswords(db: Kysely<DB>): Promise<string[]> {
  const found: string[] = [];
  for (const u of DEMO_USERS) {
    const row = await db.selectFrom('users').select(['password_hash']).where('username', '=', u.username).executeTakeFirst();
    if (row && (await verifyPassword(u.password, row.password_hash))) found.push(u.username);
  }
  return found;
}
