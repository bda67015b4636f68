import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{coordinator,sdk,cli,participants/ts,test,console}/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // Tests start real processes; two cores serve two files at a time best.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    allowOnly: false,
    reporters: ['default'],
  },
});
