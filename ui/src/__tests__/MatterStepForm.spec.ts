import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import { STEP_FIELDS } from '../api/bindings/stepFields'
import { useSessionStore } from '../stores/session'
import MatterStepForm from '../views/MatterStepForm.vue'
import { clerkSession, reference, setup, tick } from './helpers'

const q = (name: string) => `[data-testid="${name}"]`

function mountForm(kind: 'extend' | 'forward') {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = clerkSession as never
  s.reference = reference as never
  return mount(MatterStepForm, {
    props: { kind, label: '延期', today: '2026-11-26', submit: async () => {} },
    global: { plugins },
    attachTo: document.body,
  })
}

describe('MatterStepForm', () => {
  // The form is the list core generates (bindings/stepFields.ts): its inputs, labels and
  // placeholders, in core's order.
  it('renders the fields of the generated list for a step', async () => {
    const w = mountForm('extend')
    await tick()
    const labels = w.findAll('.step-form label').map((l) => l.text())
    expect(labels).toEqual(STEP_FIELDS.extend.map((f) => f.label))
    expect(labels).toEqual(['日期', '延长天数', '批准人', '延期理由（告知信访人）'])
    // Each label names its own input (for/id), of the kind the list gives.
    for (const f of STEP_FIELDS.extend) expect(w.find(`#step-${f.name}`).exists()).toBe(true)
    expect(w.find('#step-days').attributes('type')).toBe('number')
    expect(w.find('#step-approver').attributes('placeholder')).toBe('本机关、单位负责人')
    expect(w.find('#step-reason').element.tagName).toBe('TEXTAREA')
    w.unmount()
  })

  it('follows the generated list when the step changes', async () => {
    const w = mountForm('extend')
    await w.setProps({ kind: 'forward' })
    await tick()
    const labels = w.findAll('.step-form label').map((l) => l.text())
    expect(labels).toEqual(STEP_FIELDS.forward.map((f) => f.label))
    expect(w.find(q('step-days')).exists()).toBe(false)
    w.unmount()
  })
})
