import { test, expect } from '@playwright/test';
import { admin, cli, ensureOperator, operator, signIn, sql, quote, unique } from './helpers';

// The operator tools: an operator suspends and resumes a tenant's
// schedules with confirmation, and checks the health page; everyone else
// is turned away at the door.

// A tenant of its own, so suspending it cannot disturb the other specs.
const target = unique('E2E Kill Switch');

test.beforeAll(() => {
  ensureOperator();
  cli('tenant', 'create', '--name', target);
});

test('an operator suspends a tenant after confirming, sees it suspended, and resumes it', async ({ page }) => {
  await signIn(page, operator);
  await page.getByRole('link', { name: 'Operator' }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole('heading', { name: 'Tenants' })).toBeVisible();

  const row = page.locator(`[data-testid="tenant-row"][data-tenant="${target}"]`);
  await expect(row.getByTestId('tenant-status')).toHaveText('Running');

  // Changing one's mind closes the dialog and changes nothing.
  await row.getByTestId('tenant-suspend').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(target);
  await dialog.getByTestId('confirm-no').click();
  await expect(dialog).toBeHidden();
  await expect(row.getByTestId('tenant-status')).toHaveText('Running');

  await row.getByTestId('tenant-suspend').click();
  await dialog.getByTestId('confirm-yes').click();
  await expect(page.getByRole('status')).toContainText(`${target} suspended`);
  await expect(row.getByTestId('tenant-status')).toHaveText('Suspended');
  expect(sql(`SELECT schedules_suspended FROM tenant WHERE name = ${quote(target)}`)).toBe('t');

  await row.getByTestId('tenant-resume').click();
  await expect(dialog).toContainText('next fire time');
  await dialog.getByTestId('confirm-yes').click();
  await expect(page.getByRole('status')).toContainText(`${target} resumed`);
  await expect(row.getByTestId('tenant-status')).toHaveText('Running');
  expect(sql(`SELECT schedules_suspended FROM tenant WHERE name = ${quote(target)}`)).toBe('f');
});

test('the health page loads and runs a reconciliation on demand', async ({ page }) => {
  await signIn(page, operator);
  await page.goto('/admin/health');
  await expect(page.getByRole('heading', { name: 'Health', exact: true })).toBeVisible();
  await expect(page.getByTestId('health-missing-timers')).toBeVisible();
  await expect(page.getByTestId('health-orphan-timers')).toBeVisible();
  await page.getByTestId('health-reconcile').click();
  await expect(page).toHaveURL(/\/admin\/health$/);
  await expect(page.getByRole('status')).toContainText('Reconciliation');
  await expect(page.getByTestId('health-last')).toContainText(operator.email);
});

test('an operator searches schedules across tenants', async ({ page }) => {
  await signIn(page, operator);
  await page.goto('/admin/schedules');
  await page.getByLabel('Tenant').fill(target);
  await page.getByTestId('admin-schedule-search-submit').click();
  await expect(page).toHaveURL(/tenant=/);
  await expect(page.getByTestId('admin-schedules-empty')).toBeVisible();
  await page.getByLabel('Install id').fill('not-an-id');
  await page.getByTestId('admin-schedule-search-submit').click();
  await expect(page.getByTestId('field-error-install')).toContainText('uuid');
});

test('a tenant admin without the operator flag gets 403 on /admin', async ({ page }) => {
  await signIn(page, admin);
  await expect(page.getByRole('link', { name: 'Operator' })).toHaveCount(0);
  for (const path of ['/admin', '/admin/health', '/admin/schedules', '/admin/bundles']) {
    const res = await page.goto(path);
    expect(res?.status(), path).toBe(403);
    await expect(page.getByRole('heading', { name: 'Not allowed' })).toBeVisible();
    await expect(page.getByText(target)).toHaveCount(0);
  }
});
