import { onBeforeUnmount, onMounted } from 'vue'
import { api } from '../api'
import { flushDrafts } from './useDraft'

/**
 * Logs out after `minutes` without keyboard or mouse, and tells Rust about activity at most once
 * a minute so a clerk typing a long text is not logged out there (Rust enforces the timeout).
 * A draft still waiting for its debounced save is written first, while the session can.
 */
export function useIdle(minutes: () => number, onIdle: () => void) {
  let timer: ReturnType<typeof setTimeout> | undefined
  let lastPing = Date.now()

  function arm() {
    clearTimeout(timer)
    timer = setTimeout(() => {
      void flushDrafts().finally(onIdle)
    }, minutes() * 60_000)
  }

  function activity() {
    arm()
    if (Date.now() - lastPing > 60_000) {
      lastPing = Date.now()
      api.session().catch(() => undefined)
    }
  }

  const events = ['keydown', 'mousedown', 'wheel'] as const
  onMounted(() => {
    events.forEach((e) => window.addEventListener(e, activity, { passive: true }))
    arm()
  })
  onBeforeUnmount(() => {
    events.forEach((e) => window.removeEventListener(e, activity))
    clearTimeout(timer)
  })
}
