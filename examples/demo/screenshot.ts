/**
 * Takes a picture of the top of an HTML report, e.g. for the README:
 *
 *   tsx examples/demo/screenshot.ts <report.html> <out.png> [--width 1280] [--height 900]
 *
 * Uses the system's Chromium (`$CHROMIUM_PATH`, else /usr/bin/chromium);
 * exits 2 when there is none, 1 when taking the picture fails.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { hasChromium, launchChromium, MISSING_CHROMIUM_HINT } from './browser.js';

const USAGE =
  'usage: tsx examples/demo/screenshot.ts <report.html> <out.png> [--width 1280] [--height 900]';

/** What to shoot: the report, the PNG to write, and the viewport (the picture's size). */
export interface ScreenshotRequest {
  htmlFile: string;
  outFile: string;
  width: number;
  height: number;
}

/** Reads the command line; throws with the usage on anything it cannot use. */
export function parseScreenshotArgs(args: readonly string[]): ScreenshotRequest {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      width: { type: 'string', default: '1280' },
      height: { type: 'string', default: '900' },
    },
  });
  const [htmlFile, outFile, ...extra] = positionals;
  const width = Number(values.width);
  const height = Number(values.height);
  if (!htmlFile || !outFile || extra.length > 0) throw new Error(USAGE);
  if (!isPixelSize(width) || !isPixelSize(height)) {
    throw new Error(`--width and --height must be whole numbers from 200 to 4000\n${USAGE}`);
  }
  return { htmlFile, outFile, width, height };
}

function isPixelSize(value: number): boolean {
  return Number.isInteger(value) && value >= 200 && value <= 4000;
}

/** Saves a viewport-sized PNG of the top of the report. */
export async function screenshotReport(request: ScreenshotRequest): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({
      viewport: { width: request.width, height: request.height },
    });
    await page.goto(pathToFileURL(path.resolve(request.htmlFile)).href, { waitUntil: 'load' });
    await mkdir(path.dirname(path.resolve(request.outFile)), { recursive: true });
    // Not fullPage: exactly one viewport from the top, the size a README image wants.
    await page.screenshot({ path: request.outFile });
  } finally {
    await browser.close();
  }
}

async function main(args: readonly string[]): Promise<void> {
  let request: ScreenshotRequest;
  try {
    request = parseScreenshotArgs(args);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  if (!hasChromium()) {
    console.error(MISSING_CHROMIUM_HINT);
    process.exitCode = 2;
    return;
  }
  await screenshotReport(request);
  console.log(`wrote ${request.outFile} (${request.width}×${request.height})`);
}

// Run only when executed, so the functions above can be imported.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main(process.argv.slice(2));
  } catch (error) {
    console.error(`screenshot failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
