import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import MatterPage from '../views/MatterPage.vue'
import { blankStep, buildEvent } from '../views/MatterStepForm.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

const deadline = (over: Record<string, unknown>) => ({
  kind: 'disposition',
  label_zh: '登记处理期限',
  basis_zh: '登记之日起15日',
  party: 'authority',
  start: '2026-09-16',
  days: 15,
  due: '2026-10-09',
  moved: true,
  calendar_known: true,
  done_on: null,
  days_left: -48,
  overdue: true,
  ...over,
})

function page(over: Record<string, unknown> = {}) {
  return {
    matter: {
      id: 'm1',
      number: '沁水-2026-09-B0003',
      hall_code: '140521',
      first_visit_id: 'v1',
      appeal: '拖欠工资三个月',
      visitor_names: ['张建国'],
      appeal_kind: 'claim',
      appeal_kind_label: '申诉求决类',
      procedure_zh: '可以通过诉讼、仲裁、行政复议等法定途径解决的，导入相应程序。',
      category_code: 'labour_social_security',
      category_name: '劳动和社会保障',
      confidential: false,
      status: 'registered',
      status_label: '登记',
      received_on: '2026-09-16',
      legal_route: null,
      legal_route_name: null,
      proposed_route: null,
      deadlines: [deadline({})],
      allowed_events: [
        { kind: 'accept', label: '受理' },
        { kind: 'reject', label: '不予受理' },
      ],
      notices: [],
      events: [],
      state: {},
    },
    other_events: [{ kind: 'extend', label: '延期' }],
    notices: [],
    printed: [],
    backlog_case: null,
    may: { record_event: true, classify: true, propose_route: false, print: true, view_backlog: true, manage_backlog: false, note_backlog: true },
    today: '2026-11-26',
    ...over,
  }
}

function mountPage() {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = clerkSession as never
  s.reference = reference as never
  return mount(MatterPage, { props: { id: 'm1' }, global: { plugins }, attachTo: document.body })
}

describe('MatterPage', () => {
  it('shows the deadlines Rust computed, red when overdue, and the steps allowed next', async () => {
    mockIPC((cmd) => {
      if (cmd === 'matter') return page()
      return null
    })
    const w = mountPage()
    await sleep(20)
    expect(w.find(q('matter-status')).text()).toBe('登记')
    // The head names the matter by its 事项编号, not its id.
    expect(w.find(q('matter-number')).text()).toBe('沁水-2026-09-B0003')
    expect(w.find(q('matter-head')).text()).not.toContain('m1')
    const row = w.find(q('deadline-row'))
    expect(row.find(q('deadline-due')).text()).toBe('2026-10-09')
    expect(row.find(q('deadline-moved')).text()).toBe('遇节假日顺延')
    expect(row.find(q('deadline-state')).text()).toBe('已超期 48 日')
    expect(row.classes()).toContain('dl-overdue')
    expect(w.find(q('step-accept')).text()).toBe('受理')
    expect(w.find(q('step-reject')).exists()).toBe(true)
    expect(w.find(q('step-extend')).exists()).toBe(false)
    w.unmount()
  })

  it('records a step with its form and shows a refusal from Rust at its field', async () => {
    const calls: unknown[] = []
    let refuse = false
    mockIPC((cmd, args) => {
      if (cmd === 'matter') return page()
      if (cmd === 'record_matter_event') {
        calls.push((args as { event: unknown }).event)
        if (refuse) throw commandError('event', 'extension_twice', '办理期限已经延长过一次（30日），按规定只能延期一次')
        return page({
          matter: {
            ...page().matter,
            status: 'accepted',
            status_label: '受理',
            deadlines: [deadline({ done_on: '2026-11-26', overdue: false }), deadline({ kind: 'conclusion', label_zh: '办结期限', due: '2027-01-25', days_left: 60, overdue: false, moved: false })],
            allowed_events: [{ kind: 'extend', label: '延期' }],
            events: [{ seq: 1, kind: 'accept', kind_label: '受理', event: { kind: 'accept', at: '2026-11-26', notice_no: null }, by_staff: 's1', by_name: '王接待', recorded_at: '2026-11-26T09:00:00+08:00' }],
          },
        })
      }
      return null
    })
    const w = mountPage()
    await sleep(20)
    await w.find(q('step-accept')).trigger('click')
    await sleep(10)
    expect(w.find(q('step-form')).attributes('data-kind')).toBe('accept')
    await w.find(q('step-submit')).trigger('click')
    await sleep(20)
    expect(calls[0]).toEqual({ kind: 'accept', at: '2026-11-26', notice_no: null })
    expect(w.find(q('matter-status')).text()).toBe('受理')
    expect(w.find(q('matter-info')).text()).toContain('已登记「受理」')
    expect(w.findAll(q('deadline-row'))[1].find(q('deadline-state')).text()).toBe('剩余 60 日')
    expect(w.find(q('timeline-item')).text()).toContain('王接待')

    refuse = true
    await w.find(q('step-extend')).trigger('click')
    await sleep(10)
    await w.find(q('step-approver')).setValue('李局长')
    await w.find(q('step-reason')).setValue('案情复杂')
    await w.find(q('step-submit')).trigger('click')
    await sleep(20)
    expect(calls[1]).toEqual({ kind: 'extend', at: '2026-11-26', days: 30, approver: '李局长', reason: '案情复杂' })
    expect(w.find('[data-testid="field-error"][data-field="event"]').text()).toContain('只能延期一次')
    expect(w.find(q('step-form')).exists()).toBe(true)
    w.unmount()
  })
})

describe('step forms', () => {
  it('default dates to today and send what MatterEvent reads', () => {
    expect(blankStep('extend', '2026-11-26')).toEqual({ at: '2026-11-26', days: 30, approver: '', reason: '' })
    expect(blankStep('forward', '2026-11-26').report_back_by).toBe('')
    // Optional dates start empty, the others at today.
    expect(blankStep('hearing', '2026-11-26')).toMatchObject({ notice_on: '', date: '2026-11-26', panel: '', opinion: '' })
    expect(blankStep('object_transfer', '2026-11-26')).toEqual({ at: '2026-11-26', reason: '' })
    expect(buildEvent('accept', { at: '2026-11-26', notice_no: ' 沁信受〔2026〕1号 ' })).toEqual({
      kind: 'accept',
      at: '2026-11-26',
      notice_no: '沁信受〔2026〕1号',
    })
    expect(buildEvent('extend', { at: '2026-11-26', days: null, approver: '', reason: '' }).days).toBeNull()
  })
})
