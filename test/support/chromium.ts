// The system Chromium (Debian's, at /usr/bin/chromium) driven by playwright-core, headless, for the
// dashboard's tests and bench. `.ci/run` installs it when it is missing.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for this machine: no sandbox (root in a container), and no background networking, whose
 * many connections the closed network here refuses at every start.
 */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Throws a clear error when Chromium is not installed (check before a long set-up). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`this needs Chromium at ${CHROMIUM}: install it with "apt-get install -y chromium" (.ci/run does this)`);
}

/** Launches headless Chromium. */
export async function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 20_000 });
}
