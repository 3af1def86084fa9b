import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import ConflictsView from '../views/ConflictsView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

const option = (n: number, value: string, by_name: string, shown: boolean) => ({
  n,
  value,
  step_id: null,
  by: by_name ? `s-${n}` : null,
  by_name,
  device_id: `dev-${n}`,
  at: `2026-12-01T09:0${n}:00+08:00`,
  shown,
})

const phone = {
  id: 'c-1',
  kind: 'field',
  entity: 'visitor',
  record_id: 'v-1',
  field: 'phone',
  field_label: '联系电话',
  subject: '张三',
  options: [option(1, '13800000001', '王接待（clerk）', false), option(2, '13900000002', '', true)],
}

const step = {
  ...phone,
  id: 'c-2',
  kind: 'step',
  entity: 'matter',
  record_id: 'm-1',
  field: 'step',
  field_label: '办理环节',
  subject: '拖欠工资',
}

const quarantined = {
  device_id: 'dev-9',
  seq: 4,
  entity: 'visit',
  entity_id: 'x-1',
  reason: 'missing_parent',
  message: '这条来访记录所属的来访人尚未同步到本机，下次同步后会自动采用。',
  detail: 'FOREIGN KEY constraint failed',
  since: '2026-12-01T10:00:00+08:00',
  attempts: 2,
}

function mountView() {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = { ...clerkSession, staff: { ...clerkSession.staff, roles: ['supervisor'] } } as never
  s.reference = reference as never
  return mount(ConflictsView, { global: { plugins }, attachTo: document.body })
}

describe('ConflictsView', () => {
  it('lists every value with who and when, keeps one, then shows the refreshed list', async () => {
    const calls: unknown[] = []
    let open = [phone, step]
    mockIPC((cmd, args) => {
      if (cmd === 'sync_conflicts') return { conflicts: open, quarantined: [quarantined] }
      if (cmd === 'resolve_sync_conflict') {
        calls.push(args)
        open = open.filter((c) => c.id !== (args as { id: string }).id)
        return phone
      }
      return null
    })
    const w = mountView()
    await sleep(20)
    const cards = w.findAll(q('conflict'))
    expect(cards).toHaveLength(2)
    expect(cards[0].find(q('conflict-subject')).text()).toBe('张三')
    expect(cards[0].find(q('conflict-field')).text()).toBe('联系电话')
    const opts = cards[0].findAll(q('conflict-option'))
    expect(opts.map((o) => o.find(q('conflict-option-value')).text())).toEqual(['13800000001', '13900000002'])
    expect(opts[0].find(q('conflict-option-by')).text()).toBe('王接待（clerk）')
    expect(opts[1].find(q('conflict-option-by')).text()).toBe('其他设备')
    expect(opts[0].text()).toContain('2026-12-01 09:01:00')
    expect(opts[0].find(q('conflict-option-shown')).exists()).toBe(false)
    expect(opts[1].find(q('conflict-option-shown')).text()).toBe('当前显示')
    // A person's field takes a checked value of one's own; a matter step does not.
    expect(cards[0].find(q('conflict-value')).exists()).toBe(true)
    expect(cards[1].find(q('conflict-value')).exists()).toBe(false)
    expect(w.find(q('quarantined-message')).text()).toBe(quarantined.message)

    await opts[0].find(q('conflict-keep')).trigger('click')
    await sleep(20)
    expect(calls).toEqual([{ id: 'c-1', choose: 1, value: null }])
    expect(w.findAll(q('conflict'))).toHaveLength(1)
    expect(w.find(q('conflicts-done')).text()).toContain('张三的联系电话')
    w.unmount()
  })

  it('saves a checked value and shows the empty state afterwards', async () => {
    const calls: unknown[] = []
    let open = [phone]
    mockIPC((cmd, args) => {
      if (cmd === 'sync_conflicts') return { conflicts: open, quarantined: [] }
      if (cmd === 'resolve_sync_conflict') {
        calls.push(args)
        open = []
        return phone
      }
      return null
    })
    const w = mountView()
    await sleep(20)
    await w.find(q('conflict-value')).setValue('13700000003')
    await w.find(q('conflict-save')).trigger('submit')
    await sleep(20)
    expect(calls).toEqual([{ id: 'c-1', choose: null, value: '13700000003' }])
    expect(w.find(q('conflict')).exists()).toBe(false)
    expect(w.find(q('conflicts-empty')).text()).toBe('没有待处理的同步冲突。')
    expect(w.find(q('quarantine')).exists()).toBe(false)
    w.unmount()
  })

  it('shows a refused value at its field and keeps the conflict', async () => {
    mockIPC((cmd) => {
      if (cmd === 'sync_conflicts') return { conflicts: [phone], quarantined: [] }
      if (cmd === 'resolve_sync_conflict') {
        throw commandError('value', 'value_empty', '请填写核实后的内容，或点击“保留此项”选择其中一项。')
      }
      return null
    })
    const w = mountView()
    await sleep(20)
    await w.find(q('conflict-save')).trigger('submit')
    await sleep(20)
    const err = w.find('[data-testid="field-error"][data-field="value"]')
    expect(err.text()).toBe('请填写核实后的内容，或点击“保留此项”选择其中一项。')
    expect(w.findAll(q('conflict'))).toHaveLength(1)
    w.unmount()
  })
})
