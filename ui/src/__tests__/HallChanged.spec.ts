import { emit } from '@tauri-apps/api/event'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import LawyerView from '../views/LawyerView.vue'
import TodayView from '../views/TodayView.vue'
import { clerkSession, reference, setup, sleep } from './helpers'

// Issue 17: a hand-off at another desk reaches this desk's lists by itself. The background
// sync emits `hall-changed` after pulling changes; the lists reload on it.
afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`
const lawyerSession = { ...clerkSession, staff: { ...clerkSession.staff, id: 's2', username: 'lawyer', display_name: '张律师', roles: ['lawyer'] } }
const visit = { visit_id: 'v7', queue_no: 7, queue_label: '7', visited_at: '2026-11-26T09:00:00+08:00', visitors: [{ name: '赵大山' }], head_count: 1, appeal: '拖欠工资', appeal_kind: 'claim', appeal_kind_label: '申诉求决类', category_name: '劳动和社会保障', agency: null, place_name: null, is_repeat: false, status: 'with_lawyer', status_label: '律师咨询中', confidential: false }
const handedOff = {
  handoff: { id: 'h7', visit_id: 'v7', desk: 'lawyer', desk_label: '律师咨询', state: 'waiting', state_label: '等待中', note: null, created_at: '2026-11-26T09:00:00+08:00', created_by_name: '王接待', taken_by_name: null, taken_at: null },
  visit,
}

function mountAs<T>(component: T, session: object) {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = session as never
  s.reference = reference as never
  return mount(component as never, { global: { plugins }, attachTo: document.body })
}

describe('lists of the hall refresh by themselves', () => {
  it("the lawyer's queue shows another desk's hand-off after hall-changed", async () => {
    let handed = false
    let loads = 0
    mockIPC(
      (cmd) => {
        if (cmd === 'lawyer_queue') {
          loads++
          return handed ? [handedOff] : []
        }
        if (cmd === 'draft_load') return null
        return []
      },
      { shouldMockEvents: true },
    )
    const w = mountAs(LawyerView, lawyerSession)
    await sleep(20)
    expect(loads).toBe(1)
    expect(w.findAll(q('queue-item'))).toHaveLength(0)
    // The clerk's desk hands off; this desk's sync pulls it and says so.
    handed = true
    await emit('hall-changed', 2)
    await sleep(20)
    expect(loads).toBe(2)
    expect(w.findAll(q('queue-item'))).toHaveLength(1)
    expect(w.find(q('queue-item')).text()).toContain('7 号')
    // Gone from the screen: no more reloads.
    w.unmount()
    await emit('hall-changed', 1)
    await sleep(20)
    expect(loads).toBe(2)
  })

  it("the clerk's today list reloads on hall-changed", async () => {
    let status = 'waiting'
    let loads = 0
    mockIPC(
      (cmd) => {
        if (cmd === 'today') {
          loads++
          return [{ ...visit, status, status_label: status === 'waiting' ? '等待中' : '律师咨询中' }]
        }
        return []
      },
      { shouldMockEvents: true },
    )
    const w = mountAs(TodayView, clerkSession)
    await sleep(20)
    expect(w.text()).toContain('等待中')
    status = 'with_lawyer'
    await emit('hall-changed', 1)
    await sleep(20)
    expect(loads).toBe(2)
    expect(w.text()).toContain('律师咨询中')
    w.unmount()
  })
})
