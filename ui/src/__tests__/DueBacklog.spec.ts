import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import BacklogView from '../views/BacklogView.vue'
import DueView from '../views/DueView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

function mountView(view: typeof DueView | typeof BacklogView) {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = clerkSession as never
  s.reference = reference as never
  return mount(view, { global: { plugins }, attachTo: document.body })
}

const item = (over: Record<string, unknown>) => ({
  matter_id: 'm1',
  number: '沁水-2026-09-B0001',
  hall_code: '140521',
  bucket: 'overdue',
  deadline_kind: 'disposition',
  deadline_label: '登记处理期限',
  due: '2026-10-09',
  days_left: -48,
  status: 'registered',
  status_label: '登记',
  received_on: '2026-09-16',
  appeal_kind: 'claim',
  category_name: '劳动和社会保障',
  confidential: false,
  visitor_names: ['张建国'],
  appeal: '拖欠工资',
  ...over,
})

describe('DueView', () => {
  it('lists overdue and due-soon limits with the days Rust counted', async () => {
    mockIPC((cmd) => {
      if (cmd === 'due_list')
        return {
          hall_code: '140521',
          today: '2026-11-26',
          horizon: '2026-11-29',
          overdue: [item({})],
          // A long list: Rust lists the most overdue and counts them all.
          overdue_total: 250,
          due_soon_total: 2,
          due_soon: [
            item({ matter_id: 'm2', bucket: 'due_soon', due: '2026-11-26', days_left: 0 }),
            item({ matter_id: 'm3', bucket: 'due_soon', due: '2026-11-28', days_left: 2, confidential: true, visitor_names: [], appeal: '' }),
          ],
        }
      return null
    })
    const w = mountView(DueView)
    await sleep(20)
    expect(w.find(q('due-overdue-count')).text()).toBe('250')
    expect(w.find(q('due-overdue')).find(q('due-partial')).text()).toBe('（列出最紧急的 1 件）')
    expect(w.find(q('due-soon')).find(q('due-partial')).exists()).toBe(false)
    expect(w.find(q('due-overdue-row')).find(q('due-left')).text()).toBe('超期 48 日')
    expect(w.find(q('due-overdue-row')).find(q('due-number')).text()).toBe('沁水-2026-09-B0001')
    const soon = w.findAll(q('due-soon-row'))
    expect(soon.map((r) => r.find(q('due-left')).text())).toEqual(['今日到期', '剩余 2 日'])
    expect(soon[1].text()).toContain('保密')
    expect(soon[1].text()).not.toContain('张建国')
    w.unmount()
  })
})

const backlogCase = (over: Record<string, unknown>) => ({
  id: 'c1',
  matter_id: 'm1',
  matter_number: '沁水-2026-09-B0001',
  hall_code: '140521',
  leader: '李副县长',
  plan: '约谈用人单位',
  target_date: '2026-11-01',
  flagged_on: '2026-10-01',
  flagged_by_name: '李科长',
  cleared_on: null,
  clear_summary: null,
  open: true,
  overdue: true,
  matter_status: 'accepted',
  matter_status_label: '受理',
  confidential: false,
  visitor_names: ['张建国'],
  appeal: '拖欠工资',
  notes: [],
  ...over,
})

const counts = { total: 2, open: 1, cleared: 1, overdue: 1, clearance_rate: 50 }
const page = (cases: unknown[], total = cases.length, offset = 0) => ({ cases, total, offset, page_size: 50 })
const board = {
  dashboard: { today: '2026-11-26', ...counts, by_hall: [{ key: '140521', ...counts }], by_leader: [{ key: '李副县长', ...counts }], overdue_cases: [] },
  may: { record_event: true, classify: true, propose_route: false, print: true, view_backlog: true, manage_backlog: false, note_backlog: true },
}

describe('BacklogView', () => {
  it('shows the counts and adds a progress note; a refusal shows at its field', async () => {
    const notes: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'backlog_dashboard')
        return {
          dashboard: { today: '2026-11-26', ...counts, by_hall: [{ key: '140521', ...counts }], by_leader: [{ key: '李副县长', ...counts }], overdue_cases: [] },
          may: { record_event: true, classify: true, propose_route: false, print: true, view_backlog: true, manage_backlog: false, note_backlog: true },
        }
      if (cmd === 'backlog_cases')
        return page([backlogCase({ notes: notes.length ? [{ id: 'n1', noted_on: '2026-11-26', note: '已约谈', by_staff: 's1', by_name: '王接待', created_at: '' }] : [] })])
      if (cmd === 'note_backlog') {
        const input = (args as { input: { note: string } }).input
        if (!input.note) throw commandError('note', 'required', '请填写化解进展。')
        notes.push(input)
        return backlogCase({})
      }
      return null
    })
    const w = mountView(BacklogView)
    await sleep(20)
    expect(w.find(q('backlog-total')).text()).toBe('2')
    expect(w.find(q('backlog-rate')).text()).toBe('50.0%')
    expect(w.find(q('backlog-leader-row')).text()).toContain('李副县长')
    expect(w.find(q('backlog-row')).text()).toContain('已超期')
    expect(w.find(q('backlog-number')).text()).toBe('沁水-2026-09-B0001')
    await w.find(q('backlog-select')).trigger('click')
    await sleep(10)
    expect(w.find(q('clear-submit')).exists()).toBe(false) // a clerk may not clear
    await w.find(q('note-submit')).trigger('click')
    await sleep(20)
    expect(w.find('[data-testid="field-error"][data-field="note"]').text()).toBe('请填写化解进展。')
    await w.find(q('note-text')).setValue('已约谈')
    await w.find(q('note-submit')).trigger('click')
    await sleep(20)
    expect(notes).toEqual([{ noted_on: '', note: '已约谈' }])
    expect(w.find(q('backlog-note')).text()).toContain('已约谈')
    w.unmount()
  })

  it('pages through a long list and starts again at the first page for another filter', async () => {
    const asked: { filter: string; offset: number }[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'backlog_dashboard') return board
      if (cmd === 'backlog_cases') {
        const a = args as { filter: string; offset: number }
        asked.push({ filter: a.filter, offset: a.offset })
        const n = Math.min(50, 120 - a.offset)
        return page(
          Array.from({ length: n }, (_, i) => backlogCase({ id: `c${a.offset + i}`, matter_number: `沁水-2026-09-B${String(a.offset + i + 1).padStart(4, '0')}` })),
          120,
          a.offset,
        )
      }
      return null
    })
    const w = mountView(BacklogView)
    await sleep(20)
    expect(w.findAll(q('backlog-row'))).toHaveLength(50)
    expect(w.find(q('backlog-pager')).text()).toContain('120') // the total (共 120 条 in the app's zh-CN)
    await w.find(`${q('backlog-pager')} .btn-next`).trigger('click')
    await sleep(20)
    await w.find(`${q('backlog-pager')} .btn-next`).trigger('click')
    await sleep(20)
    const rows = w.findAll(q('backlog-row'))
    expect(rows).toHaveLength(20)
    expect(w.find(q('backlog-number')).text()).toBe('沁水-2026-09-B0101')
    await w.find(`${q('backlog-filter-all')} input`).setValue(true)
    await sleep(20)
    expect(asked).toEqual([
      { filter: 'open', offset: 0 },
      { filter: 'open', offset: 50 },
      { filter: 'open', offset: 100 },
      { filter: 'all', offset: 0 },
    ])
    w.unmount()
  })
})
