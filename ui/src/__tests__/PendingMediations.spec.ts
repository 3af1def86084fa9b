import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import MediationActions from '../components/mediation/MediationActions.vue'
import PendingMediations from '../components/mediation/PendingMediations.vue'
import { useSessionStore } from '../stores/session'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

const record = (outcome: string, sessions: number) => ({
  id: 'm-1',
  visit_id: 'v-1',
  mediator_id: 's1',
  mediator_name: '赵调解',
  dispute_type: 'labour',
  dispute_type_name: '劳动争议',
  started_by: 'application',
  started_by_label: '当事人申请',
  applied_on: '2026-12-01',
  request: '请求支付工资。',
  parties: [{ role: 'applicant', role_label: '申请人', kind: 'person', kind_label: '自然人', name: '张三', id_type_label: '居民身份证', id_number: '1405**********013', id_number_masked: '1405**********013', phone: null, address: null, representative: null }],
  sessions: Array.from({ length: sessions }, (_, i) => ({ held_on: `2026-12-0${i + 2}`, notes: '调解' })),
  outcome,
  outcome_label: outcome === 'pending' ? '调解中' : '未达成',
  agreement_form: null,
  agreement_form_label: null,
  dispute_facts: '',
  points_in_dispute: '',
  responsibility: '',
  agreement_text: '',
  judicial_confirmation: false,
  agreement_effective_on: null,
  confirmation_due: null,
  confirmation_result: null,
  confirmation_result_label: null,
  follow_ups: [],
  investigations: [] as Record<string, unknown>[],
  documents: [{ kind: 'mediation_record', title: '人民调解记录' }],
  created_at: '2026-12-01T09:00:00+08:00',
})

describe('PendingMediations', () => {
  it('continues a pending mediation with a session and an outcome; a refusal stays at its field', async () => {
    const calls: Record<string, unknown>[] = []
    let pending = [record('pending', 0)]
    mockIPC((cmd, args) => {
      if (cmd === 'pending_mediations') return pending
      if (cmd === 'continue_mediation') {
        const input = (args as { input: Record<string, unknown> }).input
        calls.push(input)
        if (calls.length === 1) throw commandError('sessions[0].held_on', 'held_on_future', '第 1 次调解的日期晚于今天，请核对。')
        pending = []
        return record('not_agreed', 1)
      }
      return null
    })
    const { plugins } = setup()
    const s = useSessionStore()
    s.session = { ...clerkSession, staff: { ...clerkSession.staff, roles: ['mediator'] } } as never
    s.reference = { ...reference, outcomes: [{ value: 'not_agreed', label: '未达成', hint: '' }] } as never
    const w = mount(PendingMediations, { global: { plugins }, attachTo: document.body })
    await sleep(20)
    expect(w.findAll(q('pending-mediation'))).toHaveLength(1)
    expect(w.text()).toContain('已调解 0 次')

    await w.find(q('continue-mediation')).trigger('click')
    await w.find(`${q('continue-session-notes')} textarea, textarea${q('continue-session-notes')}`).setValue('被申请人到场，未能达成一致。')
    await w.find(q('continue-submit')).trigger('click')
    await sleep(20)
    expect(w.find('[data-field="sessions[0].held_on"]').text()).toContain('晚于今天')
    expect(w.findAll(q('continue-submit'))).toHaveLength(1)

    await w.find(q('continue-submit')).trigger('click')
    await sleep(20)
    expect(calls).toHaveLength(2)
    expect(calls[1]).toMatchObject({ mediation_id: 'm-1', sessions: [{ notes: '被申请人到场，未能达成一致。' }] })
    expect(w.find(q('continued')).text()).toContain('未达成')
    expect(w.find(q('print-mediation_record')).exists()).toBe(true)
    expect(w.findAll(q('pending-mediation'))).toHaveLength(0)
    w.unmount()
  })

  it('records an investigation of a pending mediation; a blank one is refused at its fields', async () => {
    const sent: Record<string, unknown>[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'add_mediation_investigation') {
        const input = (args as { input: Record<string, unknown> }).input
        sent.push(input)
        if (!input.person) throw commandError('person', 'person_empty', '请填写被调查人。')
        const r = record('pending', 1)
        r.investigations = [{ investigated_on: '2026-12-02', place: '调解室', person: '李某（工友）', present: '', content: '证实务工三个月。', by_name: '赵调解' }]
        r.documents = [...r.documents, { kind: 'mediation_investigation', title: '人民调解调查记录' }]
        return r
      }
      return null
    })
    const { plugins } = setup()
    const s = useSessionStore()
    s.session = { ...clerkSession, staff: { ...clerkSession.staff, roles: ['mediator'] } } as never
    s.reference = reference as never
    const w = mount(MediationActions, { props: { record: record('pending', 1) as never }, global: { plugins }, attachTo: document.body })
    await w.find(q('investigation-open')).trigger('click')
    await w.find(q('investigation-save')).trigger('click')
    await sleep(20)
    expect(w.find('[data-field="person"]').text()).toContain('请填写被调查人')

    await w.find(`${q('investigation-place')} input, input${q('investigation-place')}`).setValue('调解室')
    await w.find(`${q('investigation-person')} input, input${q('investigation-person')}`).setValue('李某（工友）')
    await w.find(`${q('investigation-content')} textarea, textarea${q('investigation-content')}`).setValue('证实务工三个月。')
    await w.find(q('investigation-save')).trigger('click')
    await sleep(20)
    expect(sent[1]).toMatchObject({ place: '调解室', person: '李某（工友）', content: '证实务工三个月。' })
    const updated = w.emitted('updated') as [{ investigations: unknown[] }][]
    expect(updated[0][0].investigations).toHaveLength(1)
    expect(w.find(q('investigation-form')).exists()).toBe(false)
    w.unmount()
  })
})
