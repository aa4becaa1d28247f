import { defineConfig } from 'vitest/config';

// The test files that drive Debian's Chromium (test/harness/browser.ts). Their project's globalSetup installs it on
// a fresh machine, and runs only when one of them is in the run.
const CHROMIUM_TESTS = [
  'test/harness/harness.test.ts',
  'test/sdk/runtimes.test.ts',
  'test/web/signup.test.ts',
  'test/web/dashboard.test.ts',
  'test/web/billing.test.ts',
  'test/web/reseller.test.ts',
  'test/web/simulation.test.ts',
];

export default defineConfig({
  test: {
    exclude: ['**/node_modules/**'],
    // Limits for a loaded 2-core machine: they catch a hung test, they do not time a working one.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['**/*.test.ts'], exclude: ['**/node_modules/**', ...CHROMIUM_TESTS] },
      },
      {
        extends: true,
        test: { name: 'chromium', include: CHROMIUM_TESTS, globalSetup: ['test/harness/chromium-setup.ts'] },
      },
    ],
  },
});
