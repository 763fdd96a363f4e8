/**
 * Debian's chromium, driven by playwright-core, for the classroom browser tests.
 *
 * playwright-core ships no browser: it launches `/usr/bin/chromium` (CHROMIUM_PATH overrides).
 * The suites skip only when that binary is missing and CI is not set; under CI a missing browser is
 * a broken install and the suites fail (`.ci/install-browser.sh` installs it).
 *
 *   const browser = await launchChromium();
 *   const page = await browser.newPage();
 *   …
 *   await browser.close();
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { REPO_ROOT } from "./simServer.js";

export const CHROMIUM_PATH = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

/** Where screenshots go (git-ignored): test artefacts a reviewer can open. */
export const ARTEFACT_DIR = join(REPO_ROOT, "test-artifacts", "classroom");

/** True when the suites should run: chromium is there, or CI is set (then a missing one fails). */
export function chromiumAvailable(): boolean {
  return process.env["CI"] === "true" || existsSync(CHROMIUM_PATH);
}

/** The flags a shared, root-run machine needs (playwright's launch and the bench's plain chromium). */
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Launches headless chromium with those flags. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** The path for a screenshot named `name`.png (the folder is created). */
export function artefactPath(name: string): string {
  mkdirSync(ARTEFACT_DIR, { recursive: true });
  return join(ARTEFACT_DIR, `${name}.png`);
}
