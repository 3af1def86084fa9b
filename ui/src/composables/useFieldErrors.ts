import { reactive } from 'vue'
import { ApiError } from '../api'

/** Field → message, filled from a rejected command; the form shows each next to its field. */
export function useFieldErrors() {
  const errors = reactive<Record<string, string>>({})
  const general = reactive({ message: '' })

  function clear(prefix?: string) {
    for (const k of Object.keys(errors)) {
      if (prefix === undefined || k === prefix || k.startsWith(prefix)) delete errors[k]
    }
    if (prefix === undefined) general.message = ''
  }

  /** Takes the errors of a failed command; returns true when they were field errors. */
  function take(e: unknown): boolean {
    clear()
    if (e instanceof ApiError) {
      if (e.detail.errors.length > 0) {
        for (const fe of e.detail.errors) {
          if (!errors[fe.field]) errors[fe.field] = fe.message
        }
        return true
      }
      general.message = e.message
      return false
    }
    general.message = e instanceof Error ? e.message : String(e)
    return false
  }

  function set(field: string, message: string | null | undefined) {
    if (message) errors[field] = message
    else delete errors[field]
  }

  return { errors, general, clear, take, set }
}
