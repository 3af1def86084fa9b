import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import AuditView from '../views/AuditView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

const row = (over: Record<string, unknown>) => ({
  seq: 3,
  at: '2026-11-26T10:15:30.123+08:00',
  staff_id: 'sup',
  staff_name: '李科长（supervisor）',
  action: 'view_confidential',
  action_label: '查看检举控告类事项',
  entity: 'matter',
  entity_label: '信访事项',
  entity_id: 'm-1',
  entity_number: '沁水-2026-11-B0017',
  device_id: '0192abcd-ef00-7000-8000-000000000000',
  detail: '事项页面',
  ...over,
})

function mountView() {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = { ...clerkSession, staff: { ...clerkSession.staff, roles: ['supervisor'] } } as never
  s.reference = reference as never
  return mount(AuditView, { global: { plugins }, attachTo: document.body })
}

describe('AuditView', () => {
  it('lists the entries with Rust labels and sends the filter as typed', async () => {
    const calls: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'list_staff') return [{ id: 'sup', username: 'supervisor', display_name: '李科长', roles: ['supervisor'], active: true, hall_code: '140521' }]
      if (cmd === 'audit_entries') {
        calls.push((args as { filter: unknown }).filter)
        return [row({}), row({ seq: 2, action: 'view_full_id', action_label: '查看完整证件号码', entity: 'visitor', entity_label: '来访人', entity_id: 'v-9', entity_number: '', detail: '' })]
      }
      return null
    })
    const w = mountView()
    await sleep(20)
    expect(calls[0]).toEqual({ staff_id: '', record_id: '', from: '', to: '' })
    const rows = w.findAll(q('audit-row'))
    expect(rows).toHaveLength(2)
    expect(rows[0].find(q('audit-row-action')).text()).toBe('查看检举控告类事项')
    // A matter by its 事项编号, never its id; a visitor (no number) by its id.
    expect(rows[0].find(q('audit-row-record')).text()).toBe('信访事项 沁水-2026-11-B0017')
    expect(rows[1].find(q('audit-row-record')).text()).toBe('来访人 v-9')
    expect(rows[0].text()).toContain('2026-11-26 10:15:30')
    expect(rows[1].find(q('audit-row-staff')).text()).toBe('李科长（supervisor）')
    expect(w.find(q('audit-count')).text()).toContain('2')

    await w.find(q('audit-record')).setValue('  m-1 ')
    await w.find(q('audit-search')).trigger('submit')
    await sleep(20)
    expect(calls[1]).toEqual({ staff_id: '', record_id: 'm-1', from: '', to: '' })
    w.unmount()
  })

  it('shows a refused date at its field', async () => {
    mockIPC((cmd) => {
      if (cmd === 'list_staff') return []
      if (cmd === 'audit_entries') throw commandError('to', 'date_order', '结束日期早于开始日期，请重新选择日期范围。')
      return null
    })
    const w = mountView()
    await sleep(20)
    const err = w.find('[data-testid="field-error"][data-field="to"]')
    expect(err.text()).toBe('结束日期早于开始日期，请重新选择日期范围。')
    expect(w.find(q('audit-row')).exists()).toBe(false)
    w.unmount()
  })
})
