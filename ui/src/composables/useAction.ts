import { computed, ref, type Ref } from 'vue'
import { useFieldErrors } from './useFieldErrors'

type Done<T> = string | ((result: T) => string | void)

/** After this long a call in flight is `slow`: the page says it is still working (issue 21). */
export const SLOW_AFTER_MS = 1000

/**
 * The submit pattern of every form: one call at a time (a busy flag, by key when a list has a
 * button per row), a success message, and a refusal shown in Chinese — at its fields when the
 * command names fields, else as one message (`general`).
 *
 * `done`: where success messages go; pass the page's own ref when several actions share one.
 * `field`: renames a command's field for the form (e.g. `units[2]` → `units`).
 */
export function useAction(options: { done?: Ref<string>; field?: (name: string) => string } = {}) {
  const fields = useFieldErrors()
  const done = options.done ?? ref('')
  /** The key of the call in flight, '' when none. */
  const running = ref('')
  /** The key of the last call, whose field errors `errors` holds. */
  const last = ref('')
  const busy = computed(() => running.value !== '')
  /** True once the call in flight has taken longer than [SLOW_AFTER_MS]. */
  const slow = ref(false)

  /**
   * Runs `call` unless another is in flight. Resolves to its result, or to undefined when it
   * was refused (the errors are shown) or not run.
   */
  async function run<T>(call: () => Promise<T>, opts: { done?: Done<T>; key?: string } = {}): Promise<T | undefined> {
    if (running.value) return undefined
    const key = opts.key ?? 'action'
    running.value = key
    last.value = key
    fields.clear()
    done.value = ''
    const slowTimer = setTimeout(() => (slow.value = true), SLOW_AFTER_MS)
    try {
      const result = await call()
      const message = typeof opts.done === 'function' ? opts.done(result) : opts.done
      if (message) done.value = message
      return result
    } catch (e) {
      fields.take(e)
      if (options.field) {
        for (const [k, m] of Object.entries(fields.errors)) {
          const name = options.field(k)
          if (name === k) continue
          delete fields.errors[k]
          if (!fields.errors[name]) fields.errors[name] = m
        }
      }
      return undefined
    } finally {
      clearTimeout(slowTimer)
      slow.value = false
      running.value = ''
    }
  }

  /** The field errors of the last call when it had this key (a row's own errors). */
  function errorsOf(key: string): Record<string, string> {
    return last.value === key ? fields.errors : {}
  }

  const isBusy = (key: string) => running.value === key

  return {
    run,
    busy,
    slow,
    running,
    isBusy,
    done,
    errors: fields.errors,
    general: fields.general,
    errorsOf,
    clear: fields.clear,
    set: fields.set,
    /** Shows an error of a call made outside `run` (loading the page). */
    take: fields.take,
  }
}
