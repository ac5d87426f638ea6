import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Coverage lines and generated-path reports go to stdout; keep them visible.
    silent: false,
    testTimeout: 20_000,
  },
});
