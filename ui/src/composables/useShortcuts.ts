import { onBeforeUnmount, onMounted } from 'vue'

export interface Shortcuts {
  /** F2 */
  newForm?: () => void
  /** Ctrl+F */
  search?: () => void
  /** Ctrl+Enter */
  submit?: () => void
}

/** The registration form's keys: F2 new registration, Ctrl+F search, Ctrl+Enter submit. */
export function useShortcuts(keys: Shortcuts) {
  function onKey(e: KeyboardEvent) {
    if (e.key === 'F2' && keys.newForm) {
      e.preventDefault()
      keys.newForm()
    } else if (e.ctrlKey && (e.key === 'f' || e.key === 'F') && keys.search) {
      e.preventDefault()
      keys.search()
    } else if (e.ctrlKey && e.key === 'Enter' && keys.submit) {
      e.preventDefault()
      keys.submit()
    }
  }
  onMounted(() => window.addEventListener('keydown', onKey))
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey))
}
