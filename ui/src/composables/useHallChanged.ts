import { listen, type UnlistenFn } from '@tauri-apps/api/event'
import { onMounted, onUnmounted } from 'vue'

/** Emitted by the desk after a background sync brought changes of the hall (src-tauri/sync_task.rs). */
export const HALL_CHANGED = 'hall-changed'

/**
 * Reloads a list of the hall's records by itself when another desk changed them: a hand-off
 * reaches the lawyer's queue without anyone pressing 刷新 (docs/sync.md "Live notifications").
 */
export function useHallChanged(reload: () => unknown) {
  let unlisten: UnlistenFn | null = null
  let gone = false
  onMounted(async () => {
    try {
      const stop = await listen(HALL_CHANGED, () => void reload())
      if (gone) stop()
      else unlisten = stop
    } catch {
      // Outside the desktop app there are no events: the list still has its 刷新 button.
    }
  })
  onUnmounted(() => {
    gone = true
    unlisten?.()
  })
}
