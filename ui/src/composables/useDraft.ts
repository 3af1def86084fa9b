import { onBeforeUnmount, onMounted, ref, watch } from 'vue'
import { api, ApiError, type DraftForm } from '../api'
import { useSessionStore } from '../stores/session'

/** Saves of the mounted forms not yet written (typed less than `delay` ago). */
const pending = new Set<() => Promise<void>>()

/**
 * Writes every pending draft now. Called right before a logout (idle lock or the button), while
 * the session can still write; the debounced saves while typing are what survive a crash.
 */
export async function flushDrafts() {
  await Promise.all([...pending].map((save) => save()))
}

export interface DraftOptions<T> {
  /** Which form (Rust checks it against its list). */
  form: DraftForm
  /** What to keep: a plain, JSON-serialisable snapshot of the form's state. */
  state: () => T
  /** Puts a saved snapshot back into the form; `false` if it does not fit (not restored). */
  restore: (saved: T) => void | boolean
  /** Debounce of the save while typing, in ms. */
  delay?: number
}

/**
 * Keeps what a staff member typed into a form as a draft in the encrypted store (never in the
 * webview's storage): saved ~800 ms after the last change while logged in, restored when the
 * form is opened again, discarded when the form is submitted or cleared. A form back at its
 * blank state has no draft.
 */
export function useDraft<T>(opts: DraftOptions<T>) {
  const session = useSessionStore()
  const delay = opts.delay ?? 800
  /** A draft was put back into the form (show the notice). */
  const restored = ref(false)
  /** When the restored draft was last saved. */
  const restoredAt = ref('')
  /** Why the last save failed (shown next to the form), else empty. */
  const error = ref('')

  const snapshot = () => JSON.stringify(opts.state())
  const blank = snapshot()
  /** What the store holds for this form, as far as we know. */
  let stored = blank
  let loading = true
  let timer: ReturnType<typeof setTimeout> | undefined

  async function save() {
    clearTimeout(timer)
    timer = undefined
    pending.delete(save)
    if (!session.loggedIn) return
    const json = snapshot()
    if (json === stored) return
    try {
      if (json === blank) await api.draftDiscard(opts.form)
      else await api.draftSave(opts.form, json)
      stored = json
      error.value = ''
    } catch (e) {
      // A lapsed session is handled by the login screen; anything else is shown.
      if (!(e instanceof ApiError && e.kind === 'unauthenticated')) {
        error.value = `未能保存草稿：${e instanceof Error ? e.message : String(e)}`
      }
    }
  }

  function schedule() {
    if (loading) return
    clearTimeout(timer)
    pending.add(save)
    timer = setTimeout(save, delay)
  }

  watch(snapshot, schedule)

  async function load() {
    try {
      const d = await api.draftLoad(opts.form)
      // Only an untouched form takes the draft: what was typed meanwhile wins.
      if (d && typeof d.json === 'string' && snapshot() === blank) {
        const saved = JSON.parse(d.json) as T
        if (saved && typeof saved === 'object' && opts.restore(saved) !== false) {
          stored = d.json
          restored.value = true
          restoredAt.value = d.updated_at
        }
      }
    } catch (e) {
      error.value = `未能读取草稿：${e instanceof Error ? e.message : String(e)}`
    } finally {
      loading = false
      if (snapshot() !== stored) schedule()
    }
  }

  /** Forgets the draft (the form was submitted or cleared). */
  async function discard() {
    clearTimeout(timer)
    timer = undefined
    pending.delete(save)
    restored.value = false
    stored = blank
    try {
      await api.draftDiscard(opts.form)
    } catch {
      // Nothing to keep: at worst the next save replaces it.
    }
  }

  onMounted(load)
  onBeforeUnmount(() => {
    if (pending.has(save)) void save()
  })

  return { restored, restoredAt, error, discard, save, ready: () => !loading }
}
