// Debian's Chromium, headless, through playwright-core, with a fresh
// profile: the flags this machine needs (its network is closed, so
// background fetches are turned off) in one place for every browser test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** A persistent context in a temporary profile; `close()` removes both. */
export async function launchChromium(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'rolegate-chromium-'));
  process.env.XDG_CONFIG_HOME = join(profile, 'config');
  process.env.XDG_CACHE_HOME = join(profile, 'cache');
  const context = await chromium.launchPersistentContext(join(profile, 'user-data'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
