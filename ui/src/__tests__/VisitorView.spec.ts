import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import VisitorView from '../views/VisitorView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

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

  it('reveals a mediation party on request and copes without a birth date', async () => {
    const asked: unknown[] = []
    const party = (name: string, masked: string) => ({
      role: 'applicant', role_label: '申请人', name, id_type_label: '居民身份证',
      id_number: masked, id_number_masked: masked, phone: null, address: null,
    })
    const withParties = {
      ...profile,
      sex: null,
      birth_date: null,
      mediations: [{
        id: 'm1', visit_id: 'x1', mediator_id: 's3', mediator_name: '孙调解', dispute_type: 'labour',
        dispute_type_name: '劳动争议', parties: [party('钱守正', '1405**********0315'), party('李四', '1405**********0246')],
        sessions: [], outcome: 'agreed', outcome_label: '达成协议', agreement_text: '', judicial_confirmation: false, agreement_effective_on: null, confirmation_due: null, confirmation_result: null, confirmation_result_label: null,
        created_at: '2025-03-03T09:00:00+08:00',
      }],
    }
    mockIPC((cmd, args) => {
      if (cmd === 'visitor_profile') return withParties
      if (cmd === 'reveal_party_contact') {
        asked.push(args)
        return '140521197503010246'
      }
      return null
    })
    const w = mountView(['clerk'])
    await sleep(20)
    expect(w.find(q('visitor-detail')).text()).not.toContain('null')
    expect(w.find(q('profile-birth-date')).exists()).toBe(false)
    const ids = () => w.findAll(q('party-id-number')).map((e) => e.text())
    expect(ids()).toEqual(['1405**********0315', '1405**********0246'])
    await w.findAll(q('reveal-party-id-number'))[1].trigger('click')
    await sleep(20)
    expect(asked).toEqual([{ mediationId: 'm1', party: 1, field: 'id_number' }])
    expect(ids()).toEqual(['1405**********0315', '140521197503010246'])
    expect(w.findAll(q('reveal-party-id-number'))).toHaveLength(1)
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

  it('lets the supervisor, and only the supervisor, correct a document number with a reason', async () => {
    const calls: unknown[] = []
    let refuse = true
    mockIPC((cmd, args) => {
      if (cmd === 'visitor_profile') return profile
      if (cmd === 'correct_document') {
        calls.push(args)
        if (refuse) {
          refuse = false
          throw commandError('id_number', 'document_taken', '证件号码已登记在来访人“李四”名下，不能改成这个号码。')
        }
        return { visitor_id: 'v1' }
      }
      return null
    })
    const clerk = mountView(['clerk'])
    await sleep(20)
    expect(clerk.find(q('correct-document-open')).exists()).toBe(false)
    clerk.unmount()

    const w = mountView(['supervisor'])
    await sleep(20)
    await w.find(q('correct-document-open')).trigger('click')
    await w.find(q('correct-document-number')).setValue('14052119690312031X')
    await w.find(q('correct-document-reason')).setValue('登记时录错，已核对原件')
    await w.find(q('correct-document')).trigger('submit')
    await sleep(20)
    expect(calls[0]).toEqual({
      visitorId: 'v1',
      idType: 'resident_id',
      idNumber: '14052119690312031X',
      reason: '登记时录错，已核对原件',
    })
    expect(w.find('[data-testid="field-error"][data-field="id_number"]').text()).toContain('李四')
    await w.find(q('correct-document')).trigger('submit')
    await sleep(20)
    expect(w.find(q('people-done')).text()).toContain('已更正证件号码')
    expect(w.find(q('correct-document')).exists()).toBe(false)
    w.unmount()
  })
})
