import { afterEach, beforeEach, vi } from 'vitest'

// Every Vitest test runs on a fake clock: "later" is a moved clock, never real waiting
// (vite.config.ts setupFiles). Tests move it with `sleep`/`tick` from helpers.ts.
beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})
