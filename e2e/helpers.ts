import { Page, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';

export const admin = { email: 'admin@e2e.test', password: 'admin-password' };
export const viewer = { email: 'viewer@e2e.test', password: 'viewer-password' };

// signIn logs in through the form, as a person would.
export async function signIn(page: Page, who: { email: string; password: string }) {
  await page.goto('/login');
  await page.locator('input[name="email"]').fill(who.email);
  await page.locator('input[name="password"]').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/extensions/);
}

// Extra users seeded by global-setup (password e2e-password).
export const tzBrowser = { email: 'tz-browser@e2e.test', password: 'e2e-password' };
export const tzProfile = { email: 'tz-profile@e2e.test', password: 'e2e-password' };
export const zonesAdmin = { email: 'zones-admin@e2e.test', password: 'e2e-password' };

// sql runs a query against the suite's database and returns psql's
// unaligned output (rows on lines, columns split by |).
export function sql(query: string): string {
  const dir = process.env.EXTCRON_DATA_DIR;
  if (!dir) throw new Error('EXTCRON_DATA_DIR is not set (global-setup sets it)');
  return execFileSync('psql', [`host=${dir}/postgres dbname=extcron user=postgres`, '-Atc', query], { encoding: 'utf8' }).trim();
}

// quote makes a SQL string literal.
export function quote(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

// unique returns a name no other test uses.
export function unique(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
