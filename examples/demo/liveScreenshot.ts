/**
 * Takes a picture of the live view during the demo's outage, e.g. for the README:
 *
 *   tsx examples/demo/liveScreenshot.ts <out.png> [demo options…]
 *
 * Runs `npm start -- --live` (with the options given), opens the printed URL
 * in the system's Chromium, waits until the breaker is open with tasks kept
 * in the backlog, hides the backlog's rows from the list of changes (its
 * group commits would fill it) and saves the viewport. Exits 2 without Chromium.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasChromium, launchChromium, MISSING_CHROMIUM_HINT } from './browser.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Kept tasks before the picture is taken: the backlog chart has risen by then. */
const BACKLOG_AT_LEAST = 100;

/** Starts the demo with `--live` and resolves with the URL it prints. */
function startDemo(options: readonly string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'examples/demo/main.ts', '--live', '--plain', ...options],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /live view: open (\S+)/.exec(stdout);
      if (match) resolve(match[1] as string);
    });
    child.on('exit', () => reject(new Error(`the demo ended without a live view:\n${stdout}`)));
  });
  return { child, url };
}

async function main([outFile, ...options]: string[]): Promise<number> {
  if (!outFile) {
    console.error('usage: tsx examples/demo/liveScreenshot.ts <out.png> [demo options…]');
    return 2;
  }
  if (!hasChromium()) {
    console.error(MISSING_CHROMIUM_HINT);
    return 2;
  }
  const demo = startDemo(options);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1050 } });
    await page.goto(await demo.url, { waitUntil: 'load' });
    await page.waitForFunction(
      (least) =>
        document.querySelector<HTMLElement>('figure[data-machine="breaker"]')?.dataset.state ===
          'open' &&
        Number(document.querySelector('figure[data-metric="backlog"] output')?.textContent) >=
          least,
      BACKLOG_AT_LEAST,
      { timeout: 120_000 },
    );
    // The backlog's group commits fill the list; the picture shows the rarer changes.
    await page.uncheck('.filters input[data-machine="backlog"]');
    await page.screenshot({ path: outFile });
    console.log(`wrote ${outFile}`);
    return 0;
  } finally {
    await browser.close();
    demo.child.kill();
  }
}

process.exit(await main(process.argv.slice(2)));
