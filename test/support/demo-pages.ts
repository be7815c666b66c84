/** Helpers for the demo's browser tests: screenshots of a failed test, and the accessibility check. */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import type { Page } from 'playwright-core';
import { onTestFailed } from 'vitest';

const artefacts = fileURLToPath(new URL('../../test-results/', import.meta.url));

/** A wide desktop, a small laptop, a phone. */
export const SIZES = [
  { width: 1400, height: 900 },
  { width: 1024, height: 700 },
  { width: 390, height: 844 },
] as const;

/** When the calling test fails, writes test-results/<name>-<width>.png at each of SIZES (whole page). */
export function screenshotsOnFailure(page: Page, name: string): void {
  onTestFailed(async () => {
    await mkdir(artefacts, { recursive: true });
    for (const size of SIZES) {
      if (page.isClosed()) return;
      await page.setViewportSize(size);
      await page.screenshot({ path: `${artefacts}${name}-${size.width}.png`, fullPage: true }).catch(() => undefined);
    }
  });
}

export interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** axe-core's serious and critical findings on the page as it is now (WCAG 2.x A and AA rules and best practices). */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  await page.addScriptTag({ content: axe.source });
  return page.evaluate(async () => {
    const { violations } = await window.axe.run(document, { resultTypes: ['violations'] });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

declare global {
  interface Window {
    axe: typeof axe;
  }
}
