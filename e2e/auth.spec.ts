import { test, expect } from '@playwright/test';
import { admin, signIn } from './helpers';

test('signing in with the right password opens the extensions page', async ({ page }) => {
  await signIn(page, admin);
  await expect(page.getByRole('heading', { name: 'Extensions', exact: true })).toBeVisible();
  await expect(page.getByTestId('nav-profile')).toHaveText(admin.email);
});

test('a wrong password shows an inline error and keeps the email', async ({ page }) => {
  await page.goto('/login');
  await page.locator('input[name="email"]').fill(admin.email);
  await page.locator('input[name="password"]').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('login-error')).toHaveText('Email or password is incorrect.');
  await expect(page.locator('input[name="email"]')).toHaveValue(admin.email);
  await expect(page).toHaveURL(/\/login/);
});

test('signing out ends the session', async ({ page }) => {
  await signIn(page, admin);
  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole('status')).toContainText('You are signed out.');
  await page.goto('/profile');
  await expect(page).toHaveURL(/\/login\?next=/);
});

test('pages need a session', async ({ page }) => {
  await page.goto('/extensions');
  await expect(page).toHaveURL(/\/login\?next=%2Fextensions|\/login\?next=\/extensions/);
});
