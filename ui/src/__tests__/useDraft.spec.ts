import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { defineComponent, h, reactive } from 'vue'
import { flushDrafts, useDraft } from '../composables/useDraft'
import { useSessionStore } from '../stores/session'
import LawyerView from '../views/LawyerView.vue'
import RegisterView from '../views/RegisterView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

// The saves are debounced (~800 ms): the tests move the fake clock (fakeClock.ts).
afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`
const NAME = '林默然'

type Call = { cmd: string; args: Record<string, unknown> }

/** IPC mock with a draft store of one form; records every draft command. */
function mockDrafts(initial: string | null, other: (cmd: string, args: Record<string, unknown>) => unknown = () => []) {
  const drafts = { json: initial }
  const calls: Call[] = []
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>
    if (cmd.startsWith('draft_')) calls.push({ cmd, args: a })
    if (cmd === 'draft_load')
      return drafts.json === null ? null : { form: a.form, json: drafts.json, updated_at: '2026-11-26T09:30:12.000+08:00' }
    if (cmd === 'draft_save') {
      drafts.json = a.json as string
      return '2026-11-26T09:31:00.000+08:00'
    }
    if (cmd === 'draft_discard') {
      const had = drafts.json !== null
      drafts.json = null
      return had
    }
    return other(cmd, a)
  })
  return { drafts, calls }
}

function loggedIn() {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = clerkSession as never
  s.reference = reference as never
  return plugins
}

function mountRegister() {
  return mount(RegisterView, { global: { plugins: loggedIn() }, attachTo: document.body })
}

const savedDraft = (name: string) =>
  JSON.stringify({
    form: {
      visited_at: '',
      visitors: [{ name, id_type: 'resident_id', id_number: '', phone: '13912345678', address: '', sex: '', birth_date: '', ethnicity: '', occupation: '' }],
      head_count: 0,
      representatives: [],
      appeal: '拖欠工资三个月',
      appeal_kind: '',
      category: '',
      agency: '',
      place_code: '',
    },
    reps: [false],
    headCount: '',
  })

const value = (w: ReturnType<typeof mountRegister>, id: string) =>
  (w.find(q(id)).element as HTMLInputElement | HTMLTextAreaElement).value

describe('register form drafts', () => {
  it('restores the last unsubmitted form with a notice, and 清空 discards it', async () => {
    const { drafts, calls } = mockDrafts(savedDraft(NAME))
    const w = mountRegister()
    await sleep(20)
    expect(calls[0]).toEqual({ cmd: 'draft_load', args: { form: 'register' } })
    expect(value(w, 'visitor-name')).toBe(NAME)
    expect(value(w, 'visitor-phone')).toBe('13912345678')
    expect(value(w, 'visit-appeal')).toBe('拖欠工资三个月')
    const notice = w.find(q('draft-restored'))
    expect(notice.text()).toContain('已恢复上次未提交的登记内容')
    expect(notice.text()).toContain('2026-11-26 09:30')

    await w.find(q('draft-clear')).trigger('click')
    await sleep(20)
    expect(drafts.json).toBeNull()
    expect(value(w, 'visitor-name')).toBe('')
    expect(w.find(q('draft-restored')).exists()).toBe(false)
    // The blank form is not saved back as a draft.
    await sleep(900)
    expect(drafts.json).toBeNull()
    w.unmount()
  })

  it('saves what is typed after a pause, only once, and nothing for a blank form', async () => {
    const { drafts, calls } = mockDrafts(null)
    const w = mountRegister()
    await sleep(20)
    expect(w.find(q('draft-restored')).exists()).toBe(false)
    await w.find(q('visitor-name')).setValue('林')
    await sleep(200)
    await w.find(q('visitor-name')).setValue(NAME)
    await sleep(200)
    expect(calls.filter((c) => c.cmd === 'draft_save')).toHaveLength(0)
    await sleep(800)
    const saves = calls.filter((c) => c.cmd === 'draft_save')
    expect(saves).toHaveLength(1)
    expect(saves[0].args.form).toBe('register')
    expect(JSON.parse(drafts.json!).form.visitors[0].name).toBe(NAME)
    w.unmount()
  })

  it('keeps the draft when the form is refused and discards it once registered', async () => {
    let submits = 0
    const { drafts } = mockDrafts(null, (cmd) => {
      if (cmd === 'register_visit') {
        submits++
        if (submits === 1) throw commandError('appeal', 'appeal_empty', '诉求内容未填写：请写明来访人的诉求。')
        return { registered: { visit_id: 'v1', visitor_ids: ['p1'], repeat_of: [], queue_no: 3, queue_label: '3', matter_id: 'm1' }, warnings: [] }
      }
      if (cmd === 'check_id')
        return { valid: false, normalized: '', sex: null, birth_date: null, region_name: null, error: null, warnings: [], conflicts: [] }
      return []
    })
    const w = mountRegister()
    await sleep(20)
    await w.find(q('visitor-name')).setValue(NAME)
    await sleep(900)
    expect(JSON.parse(drafts.json!).form.visitors[0].name).toBe(NAME)

    await w.find(q('register-submit')).trigger('click')
    await sleep(20)
    expect(w.find(q('form-error')).exists()).toBe(true)
    await sleep(900)
    expect(JSON.parse(drafts.json!).form.visitors[0].name).toBe(NAME)

    await w.find(q('visit-appeal')).setValue('拖欠工资')
    await w.find(q('register-submit')).trigger('click')
    await sleep(20)
    expect(w.find(q('queue-number')).text()).toBe('3')
    expect(drafts.json).toBeNull()
    await sleep(900)
    expect(drafts.json).toBeNull()
    w.unmount()
  })

  it('writes a pending save at once when asked (before the idle logout)', async () => {
    const { drafts } = mockDrafts(null)
    const w = mountRegister()
    await sleep(20)
    await w.find(q('visitor-name')).setValue(NAME)
    await sleep(10)
    expect(drafts.json).toBeNull()
    await flushDrafts()
    expect(JSON.parse(drafts.json!).form.visitors[0].name).toBe(NAME)
    w.unmount()
  })

  it('does not save when nobody is logged in', async () => {
    const { calls } = mockDrafts(null)
    const plugins = loggedIn()
    const form = reactive({ text: '' })
    const Comp = defineComponent({
      setup() {
        useDraft({ form: 'consultation', state: () => ({ ...form }), restore: (s) => { Object.assign(form, s) }, delay: 10 })
        return () => h('div')
      },
    })
    const w = mount(Comp, { global: { plugins } })
    await sleep(20)
    useSessionStore().session = null
    form.text = '咨询内容'
    await sleep(50)
    await flushDrafts()
    expect(calls.filter((c) => c.cmd === 'draft_save')).toHaveLength(0)
    w.unmount()
  })
})

const lawyerSession = { ...clerkSession, staff: { ...clerkSession.staff, id: 's2', username: 'lawyer', display_name: '张律师', roles: ['lawyer'] } }
const queueItem = {
  handoff: { id: 'h1', visit_id: 'v1', desk: 'lawyer', desk_label: '律师咨询', state: 'taken', state_label: '接待中', note: null, created_at: '2026-11-26T09:00:00+08:00', created_by_name: '王接待', taken_by_name: '张律师', taken_at: '2026-11-26T09:10:00+08:00' },
  visit: { visit_id: 'v1', queue_no: 5, queue_label: '5', visited_at: '2026-11-26T09:00:00+08:00', visitors: [], head_count: 1, appeal: '拖欠工资', appeal_kind: 'claim', appeal_kind_label: '申诉求决类', category_name: '劳动和社会保障', agency: null, place_name: null, is_repeat: false, status: 'open', status_label: '接待中', confidential: false },
}

describe('lawyer desk drafts', () => {
  it('brings back the visitor being received and the unsaved advice, and discards it once saved', async () => {
    const form = { visit_id: 'v1', question: '拖欠工资', facts: '', advice: '先申请劳动仲裁', legal_route: '', laws_cited: '', duration_minutes: 20, follow_up: false, follow_up_note: '' }
    const { drafts } = mockDrafts(JSON.stringify({ current: queueItem, form }), (cmd) => {
      if (cmd === 'log_consultation') return { id: 'c1', ...form, legal_route_name: '劳动人事争议仲裁' }
      return []
    })
    const { plugins } = setup()
    const s = useSessionStore()
    s.session = lawyerSession as never
    s.reference = reference as never
    const w = mount(LawyerView, { global: { plugins }, attachTo: document.body })
    await sleep(30)
    expect(w.find(q('draft-restored')).text()).toContain('已恢复上次未保存的法律咨询记录')
    expect(w.find(q('lawyer-current')).text()).toContain('5 号')
    expect((w.find(q('consultation-advice')).element as HTMLTextAreaElement).value).toBe('先申请劳动仲裁')

    await w.find(q('consultation-submit')).trigger('click')
    await sleep(30)
    expect(w.find(q('consultation-saved')).exists()).toBe(true)
    expect(drafts.json).toBeNull()
    expect(w.find(q('draft-restored')).exists()).toBe(false)
    await sleep(900)
    expect(drafts.json).toBeNull()
    w.unmount()
  })
})
