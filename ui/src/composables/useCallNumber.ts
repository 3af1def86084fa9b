import { ref } from 'vue'
import type { CallOutcome } from '../api/bindings/CallOutcome'

/**
 * 叫号: calls a queue number on the hall's call screen through `send` (the command of the
 * caller's room). Best effort: when the screen was not reached, `note` says why, so the number
 * can be called aloud instead.
 */
export function useCallNumber(send: (label: string) => Promise<CallOutcome>) {
  const called = ref('')
  const note = ref('')
  const calling = ref(false)

  async function callNumber(label: string) {
    if (calling.value || !label) return
    calling.value = true
    called.value = ''
    note.value = ''
    try {
      const outcome = await send(label)
      if (outcome.called) called.value = `已叫号：${outcome.text}`
      else note.value = outcome.note ?? '未能在叫号屏上显示，请口头叫号。'
    } catch (e) {
      note.value = e instanceof Error ? e.message : String(e)
    } finally {
      calling.value = false
    }
  }

  return { called, note, calling, callNumber }
}
