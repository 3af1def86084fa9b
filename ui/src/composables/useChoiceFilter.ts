import { computed, ref } from 'vue'
import type { Choice } from '../api/bindings/Choice'

/** Whether `choice` matches what was typed: its Chinese label, or its pinyin initials (ldh → 劳动和…). */
export function choiceMatches(choice: Choice, typed: string): boolean {
  const q = typed.trim().toLowerCase()
  if (!q) return true
  return choice.label.toLowerCase().includes(q) || (choice.initials ?? '').includes(q)
}

/**
 * A filterable select's options found by Chinese or pinyin initials: bind `options` to the
 * options and `filter` to `:filter-method`.
 */
export function useChoiceFilter(list: () => Choice[]) {
  const query = ref('')
  const options = computed(() => list().filter((c) => choiceMatches(c, query.value)))
  function filter(q: string) {
    query.value = q
  }
  return { options, filter }
}
