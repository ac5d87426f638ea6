/**
 * Starts the system's Chromium through playwright-core, which downloads no
 * browser of its own. Used by the screenshot script and by the report's
 * browser test (examples must not depend on test/, so it lives here).
 */
import { accessSync, constants } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where Chromium is: `$CHROMIUM_PATH`, else Debian's `chromium` package. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Whether {@link CHROMIUM_PATH} is an executable file. */
export function hasChromium(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Says how to get Chromium, for the error a missing one causes. */
export const MISSING_CHROMIUM_HINT = `no Chromium at ${CHROMIUM_PATH}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`;

/** Launches headless Chromium from {@link CHROMIUM_PATH}; the caller closes it. */
export async function launchChromium(): Promise<Browser> {
  if (!hasChromium()) throw new Error(MISSING_CHROMIUM_HINT);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Chromium's sandbox refuses to run as root, which is how containers and CI run us.
    args: ['--no-sandbox'],
  });
}
