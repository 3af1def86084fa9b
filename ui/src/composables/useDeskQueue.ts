import { onMounted, ref, watch, type Ref } from 'vue'
import type { QueueItem } from '../api/bindings/QueueItem'
import { useFieldErrors } from './useFieldErrors'
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
}) {
  const queue = ref<QueueItem[]>([])
  const current = ref<QueueItem | null>(null)
  const saved = ref(null) as Ref<Saved | null>
  const info = ref('')
  const busy = ref(false)
  const fieldErrors = useFieldErrors()
  const { take, clear } = fieldErrors

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

  return { queue, current, saved, info, busy, load, takeNext, submit, finish, ...fieldErrors }
}
