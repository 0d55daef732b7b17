import { Page, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

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

// cli runs the extcron command line on the suite's data dir (global-setup
// put EXTCRON_DATA_DIR in the environment) and returns its last line.
export function cli(...args: string[]): string {
  const bin = process.env.EXTCRON_BIN ?? resolve('bin/extcron');
  return execFileSync(bin, args, { env: process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .trim().split('\n').pop()!;
}

// A tenant of a spec's own, with an admin (and API token) and a viewer.
// operator is a user with the operator flag, created on first use.
export const operator = { email: 'op@e2e.test', password: 'op-password' };

export function ensureOperator() {
  const exists = sql(`SELECT count(*) FROM user_login WHERE email = ${quote(operator.email)}`);
  if (exists === '0') {
    cli('user', 'create', '--tenant', 'E2E Corp', '--email', operator.email, '--password', operator.password,
      '--role', 'admin', '--operator');
  }
}

export type Tenant = {
  name: string;
  admin: { email: string; password: string };
  viewer: { email: string; password: string };
  token: string;
};

// newTenant creates a tenant nobody else uses, so a spec can change it
// (move versions, suspend it) without disturbing the others.
export function newTenant(prefix: string): Tenant {
  const name = unique(prefix);
  const tag = name.split(' ').pop()!;
  const admin = { email: `admin-${tag}@e2e.test`, password: 'e2e-password' };
  const viewer = { email: `viewer-${tag}@e2e.test`, password: 'e2e-password' };
  cli('tenant', 'create', '--name', name);
  cli('user', 'create', '--tenant', name, '--email', admin.email, '--password', admin.password, '--role', 'admin');
  cli('user', 'create', '--tenant', name, '--email', viewer.email, '--password', viewer.password, '--role', 'viewer');
  return { name, admin, viewer, token: cli('token', 'create', '--email', admin.email) };
}

// api calls the JSON API with a bearer token; it throws on an unexpected
// status so a failed setup step says what went wrong.
export async function api(token: string, method: string, path: string, body?: unknown, want = [200, 201, 204]): Promise<any> {
  const res = await fetch(`${process.env.EXTCRON_URL}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!want.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

// seedInstall installs a version of an extension for the tenant and
// creates the given schedules through the API (route is "METHOD /path",
// the cron fires once a year); it returns the schedule ids by name.
export async function seedInstall(t: Tenant, ext: string, version: string,
  schedules: { name: string; route: string; enabled?: boolean }[]): Promise<Record<string, string>> {
  await api(t.token, 'POST', `/extensions/${ext}/install`, { version });
  const eps: { id: string; method: string; path: string }[] = (await api(t.token, 'GET', `/extensions/${ext}/endpoints`)).items;
  const ids: Record<string, string> = {};
  for (const s of schedules) {
    const ep = eps.find((e) => `${e.method} ${e.path}` === s.route);
    if (!ep) throw new Error(`${ext} ${version} has no endpoint ${s.route}`);
    const created = await api(t.token, 'POST', `/extensions/${ext}/schedules`,
      { endpoint_id: ep.id, name: s.name, cron: '0 3 1 1 *', timezone: 'UTC', enabled: s.enabled ?? true });
    ids[s.name] = created.id;
  }
  return ids;
}
