import { Page, expect } from '@playwright/test';

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
