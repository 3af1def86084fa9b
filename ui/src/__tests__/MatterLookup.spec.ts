import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import MatterLookup from '../views/MatterLookup.vue'
import { clerkSession, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

const row = {
  visit_id: 'v1',
  number: '沁水-2026-11-26-B017',
  matter_number: '沁水-2026-11-B0017',
  queue_no: 17,
  queue_label: 'B017',
  visited_at: '2026-11-26T09:00:00+08:00',
  visitors: [{ visitor_id: 'p1', name: '张建国', id_number_masked: '140521********0134', is_representative: false }],
  head_count: 1,
  appeal: '拖欠工资',
  appeal_kind: 'claim',
  appeal_kind_label: '申诉求决类',
  category_name: '劳动和社会保障',
  agency: null,
  place_name: null,
  is_repeat: false,
  skip_level: false,
  skip_level_authority: null,
  status: 'open',
  status_label: '接待中',
  confidential: false,
}

describe('MatterLookup', () => {
  it('lists the day’s matters by their 事项编号 and opens a typed number', async () => {
    mockIPC((cmd) => (cmd === 'today' ? [row] : null))
    const { plugins, router } = setup()
    const s = useSessionStore()
    s.session = clerkSession as never
    s.reference = reference as never
    const w = mount(MatterLookup, { global: { plugins }, attachTo: document.body })
    await sleep(20)
    expect(w.find(q('matters-today-number')).text()).toBe('沁水-2026-11-B0017')
    expect(w.find(q('matters-today')).text()).not.toContain('v1')

    await w.find(q('matter-id-open')).trigger('click')
    await sleep(10)
    expect(w.find(q('matters-error')).text()).toContain('沁水-2026-11-B0017')

    await w.find(q('matter-id-input')).setValue(' 沁水-2026-11-B0017 ')
    await w.find(q('matter-id-open')).trigger('click')
    await sleep(20)
    expect(router.currentRoute.value.fullPath).toBe(`/matter/${encodeURIComponent('沁水-2026-11-B0017')}`)
    w.unmount()
  })
})
