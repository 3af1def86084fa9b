import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import VisitorView from '../views/VisitorView.vue'
import { clerkSession, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

const profile = {
  visitor_id: 'v1',
  name: '钱守正',
  id_type_label: '居民身份证',
  id_number_masked: '1405**********0315',
  sex: 'male',
  birth_date: '1969-03-12',
  phone_masked: '139****7890',
  address: null,
  visits: [],
  consultations: [],
  mediations: [],
}

function mountView(roles: string[]) {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = { ...clerkSession, staff: { ...clerkSession.staff, roles } } as never
  s.reference = reference as never
  return mount(VisitorView, { props: { id: 'v1' }, global: { plugins }, attachTo: document.body })
}

describe('VisitorView', () => {
  it('shows masked numbers and reveals one in full only on request', async () => {
    const asked: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'visitor_profile') return profile
      if (cmd === 'reveal_visitor_contact') {
        asked.push(args)
        return (args as { field: string }).field === 'phone' ? '13934567890' : '140521196903120315'
      }
      return null
    })
    const w = mountView(['clerk'])
    await sleep(20)
    expect(w.find(q('visitor-id-number')).text()).toBe('1405**********0315')
    expect(asked).toHaveLength(0)
    await w.find(q('reveal-phone')).trigger('click')
    await sleep(20)
    expect(asked).toEqual([{ visitorId: 'v1', field: 'phone' }])
    expect(w.find(q('visitor-phone')).text()).toBe('13934567890')
    expect(w.find(q('visitor-id-number')).text()).toBe('1405**********0315')
    expect(w.find(q('reveal-phone')).exists()).toBe(false)
    expect(w.find(q('reveal-note')).text()).toContain('审计日志')
    w.unmount()
  })

  it('offers no reveal to the lawyer', async () => {
    mockIPC((cmd) => (cmd === 'visitor_profile' ? profile : null))
    const w = mountView(['lawyer'])
    await sleep(20)
    expect(w.find(q('visitor-detail')).exists()).toBe(true)
    expect(w.find(q('reveal-id-number')).exists()).toBe(false)
    w.unmount()
  })
})
