import { onBeforeUnmount, onMounted } from 'vue'

export interface Shortcuts {
  /** F2 */
  newForm?: () => void
  /** Ctrl+F */
  search?: () => void
  /** Ctrl+Enter */
  submit?: () => void
  /** F4: read the ID card on the desk's reader */
  readCard?: () => void
}

/** The registration form's keys: F2 new registration, Ctrl+F search, Ctrl+Enter submit, F4 read the ID card. */
export function useShortcuts(keys: Shortcuts) {
  function onKey(e: KeyboardEvent) {
    if (e.key === 'F2' && keys.newForm) {
      e.preventDefault()
      keys.newForm()
    } else if (e.ctrlKey && (e.key === 'f' || e.key === 'F') && keys.search) {
      e.preventDefault()
      keys.search()
    } else if (e.key === 'F4' && keys.readCard) {
      e.preventDefault()
      keys.readCard()
    } else if (e.ctrlKey && e.key === 'Enter' && keys.submit) {
      e.preventDefault()
      keys.submit()
    }
  }
  onMounted(() => window.addEventListener('keydown', onKey))
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey))
}
