import { computed, onMounted, ref, watch, type Ref } from 'vue'
import type { DraftForm } from '../api'
import type { QueueItem } from '../api/bindings/QueueItem'
import { useDraft } from './useDraft'
import { useFieldErrors } from './useFieldErrors'
import { useHallChanged } from './useHallChanged'
import { useShortcuts } from './useShortcuts'

/**
 * What the lawyer desk and the mediator desk share: their queue, the visitor being received,
 * the record once saved, and saving with Ctrl+Enter. Each desk brings its own form and calls.
 */
export function useDeskQueue<Input extends object, Saved>(opts: {
  form: Input
  blank: (next: QueueItem) => Partial<Input>
  list: () => Promise<QueueItem[]>
  takeNext: () => Promise<QueueItem | null>
  save: (form: Input) => Promise<Saved>
  emptyText: string
  savedText: string
  /** Keep the record being written as a draft (the visitor received and the form). */
  draft?: DraftForm
}) {
  const queue = ref<QueueItem[]>([])
  const current = ref<QueueItem | null>(null)
  const saved = ref(null) as Ref<Saved | null>
  const info = ref('')
  const busy = ref(false)
  const fieldErrors = useFieldErrors()
  const { take, clear } = fieldErrors

  // The visitor being received and the unsaved record survive an idle lock or a crash: a
  // draft in the encrypted store, gone once the record is saved or the desk is done.
  const draft = opts.draft
    ? useDraft<{ current: QueueItem; form: Input } | null>({
        form: opts.draft,
        state: () => (current.value && !saved.value ? { current: current.value, form: opts.form } : null),
        restore(s) {
          if (!s?.current?.visit || !s.form) return false
          current.value = s.current
          saved.value = null
          Object.assign(opts.form, s.form)
        },
      })
    : null
  const draftRestored = computed(() => draft?.restored.value ?? false)

  /** 清空 on the restored-draft notice: the record starts again for the same visitor. */
  function clearDraft() {
    if (current.value) Object.assign(opts.form, opts.blank(current.value))
    void draft?.discard()
  }

  async function load() {
    try {
      queue.value = await opts.list()
    } catch (e) {
      take(e)
    }
  }

  async function takeNext() {
    clear()
    info.value = ''
    try {
      const next = await opts.takeNext()
      if (!next) {
        info.value = opts.emptyText
        return
      }
      current.value = next
      saved.value = null
      Object.assign(opts.form, opts.blank(next))
      // The next visitor's record replaces the restored one as this desk's draft.
      if (draft) draft.restored.value = false
      await load()
    } catch (e) {
      take(e)
    }
  }

  async function submit() {
    if (busy.value || !current.value) return
    busy.value = true
    try {
      saved.value = await opts.save(opts.form)
      void draft?.discard()
      clear()
      info.value = opts.savedText
      await load()
    } catch (e) {
      take(e)
    } finally {
      busy.value = false
    }
  }

  function finish() {
    current.value = null
    saved.value = null
  }

  useShortcuts({ submit })
  // An edited field's old error goes away; the next save reports what is still wrong.
  watch(
    () => JSON.stringify(opts.form),
    (now, before) => {
      const a = JSON.parse(now) as Record<string, unknown>
      const b = JSON.parse(before) as Record<string, unknown>
      for (const k of Object.keys(a)) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) clear(k)
    },
  )
  onMounted(load)
  // Another desk's hand-off shows up here by itself.
  useHallChanged(load)

  return { queue, current, saved, info, busy, load, takeNext, submit, finish, draftRestored, clearDraft, ...fieldErrors }
}
