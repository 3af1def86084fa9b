import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import TodayView from '../views/TodayView.vue'
import { clerkSession, reference, setup, sleep } from './helpers'

// Issue 17: 叫号 on the clerk's list calls the row's label to the registration window; when
// the hall's server is not reached the clerk is told why and to call aloud.
afterEach(() => clearMocks())

const ROW = {
  visit_id: 'v1', queue_no: 1, queue_label: 'B001', visited_at: '2026-12-04T09:00:00+08:00', visitors: [], head_count: 1,
  appeal: '拖欠工资', appeal_kind: 'claim', appeal_kind_label: '申诉求决类', category_name: '劳动和社会保障', agency: null,
  place_name: null, is_repeat: false, skip_level: false, skip_level_authority: null, status: 'waiting', status_label: '等候中',
  confidential: false,
}
const q = (name: string) => `[data-testid="${name}"]`

function mountView() {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = clerkSession as never
  s.reference = reference as never
  return mount(TodayView, { global: { plugins }, attachTo: document.body })
}

describe('叫号', () => {
  it('shows the label and calls it to the registration window', async () => {
    const sent: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'today') return [ROW]
      if (cmd === 'call_registration') {
        sent.push(args)
        return { called: true, queue_label: 'B001', room_label: '登记窗口', text: '请 B001 号到登记窗口', note: null }
      }
      return null
    })
    const w = mountView()
    await sleep(30)
    expect(w.find(q('today-row')).text()).toContain('B001')
    await w.find(q('call-registration')).trigger('click')
    await sleep(30)
    expect(sent).toEqual([{ queueLabel: 'B001' }])
    expect(w.find(q('today-called')).text()).toContain('请 B001 号到登记窗口')
    w.unmount()
  })

  it('says why a number was not called', async () => {
    mockIPC((cmd) => {
      if (cmd === 'today') return [ROW]
      if (cmd === 'call_registration')
        return { called: false, queue_label: 'B001', room_label: '登记窗口', text: '请 B001 号到登记窗口', note: '未连上大厅服务器，叫号屏上没有显示：请口头叫号。' }
      return null
    })
    const w = mountView()
    await sleep(30)
    await w.find(q('call-registration')).trigger('click')
    await sleep(30)
    expect(w.find(q('today-call-note')).text()).toContain('请口头叫号')
    expect(w.find(q('today-called')).exists()).toBe(false)
    w.unmount()
  })
})
