import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import RegisterView from '../views/RegisterView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

// The ID check and the history panel wait for a pause in typing: the fake clock (fakeClock.ts) is moved instead.
afterEach(() => clearMocks())

const GOOD = '140521198001150135'
const BAD = '140521198001150131'

function mountView() {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = clerkSession as never
  s.reference = reference as never
  return mount(RegisterView, { global: { plugins }, attachTo: document.body })
}

const q = (name: string) => `[data-testid="${name}"]`

describe('RegisterView', () => {
  it('fills sex and birth date from a valid ID as it is typed', async () => {
    mockIPC((cmd) => {
      if (cmd === 'check_id')
        return { valid: true, normalized: GOOD, sex: 'male', birth_date: '1980-01-15', region_name: '山西省晋城市沁水县', error: null, warnings: [], conflicts: [] }
      return []
    })
    const w = mountView()
    await w.find(q('visitor-id-number')).setValue(GOOD)
    await sleep(300)
    expect((w.find(q('visitor-birth-date')).element as HTMLInputElement).value).toBe('1980-01-15')
    expect(w.find(q('id-ok')).text()).toContain('沁水县')
    w.unmount()
  })

  it('keeps everything typed when the form is refused and shows each error at its field', async () => {
    let calls = 0
    mockIPC((cmd) => {
      if (cmd === 'register_visit') {
        calls++
        if (calls === 1)
          throw commandError('visitors[0].id_number', 'id_check_digit', '第 1 位来访人：身份证号码校验位不正确')
        return { registered: { visit_id: 'v1', number: '沁水-2026-11-26-7', visitor_ids: ['p1'], repeat_of: [], queue_no: 7, queue_label: '7', matter_id: 'm1', matter_number: '沁水-2026-11-B0017', skip_level: { flagged: false } }, warnings: [] }
      }
      if (cmd === 'check_id') return { valid: false, normalized: '', sex: null, birth_date: null, region_name: null, error: null, warnings: [], conflicts: [] }
      return []
    })
    const w = mountView()
    await w.find(q('visitor-name')).setValue('张建国')
    await w.find(q('visitor-id-number')).setValue(BAD)
    await w.find(q('visit-appeal')).setValue('拖欠工资')
    await w.find(q('register-submit')).trigger('click')
    await sleep(10)
    expect(w.find('[data-testid="field-error"][data-field="visitors[0].id_number"]').text()).toContain('校验位')
    expect((w.find(q('visitor-name')).element as HTMLInputElement).value).toBe('张建国')
    expect((w.find(q('visit-appeal')).element as HTMLTextAreaElement).value).toBe('拖欠工资')
    expect(w.find(q('queue-number')).exists()).toBe(false)

    await w.find(q('register-submit')).trigger('click')
    await sleep(10)
    expect(w.find(q('queue-number')).text()).toBe('7')
    // The numbers the visitor is told, never the record ids.
    expect(w.find(q('register-numbers')).text()).toBe('来访编号 沁水-2026-11-26-7，事项编号 沁水-2026-11-B0017')
    w.unmount()
  })

  it('shows earlier visits in the history panel marked 重复访, with the person\'s photo', async () => {
    mockIPC((cmd, args) => {
      // The live photo of p1 (issue 19); nobody else has one.
      if (cmd === 'visitor_photo')
        return (args as { visitorId: string }).visitorId === 'p1'
          ? { visit_id: 'v0', visited_at: '2025-06-01T09:00:00+08:00', taken_at: '2025-06-01T09:01:00+08:00', jpeg: '/9j/2Q==' }
          : null
      if (cmd === 'history')
        return [
          {
            hit: { visitor_id: 'p1', name: '张建国', id_type: 'resident_id', id_number_masked: '1405**********0135', phone_masked: null, sex: 'male', birth_date: '1980-01-15', visit_count: 1, last_visit_at: '2025-06-01T09:00:00+08:00' },
            visits: [{ visit_id: 'v0', visited_at: '2025-06-01T09:00:00+08:00', queue_no: 1, queue_label: '1', appeal: '拖欠工资', appeal_kind: 'claim', category_code: 'labour_social_security', head_count: 1, is_repeat: false, confidential: false }],
          },
        ]
      return { valid: false, normalized: '', sex: null, birth_date: null, region_name: null, error: null, warnings: [], conflicts: [] }
    })
    const w = mountView()
    await w.find(q('visitor-name')).setValue('张建国')
    await sleep(300)
    const panel = w.find(q('history-panel'))
    expect(panel.text()).toContain('张建国')
    expect(panel.find(q('history-repeat')).text()).toBe('重复访')
    const photo = panel.find(q('visitor-photo'))
    expect(photo.attributes('src')).toBe('data:image/jpeg;base64,/9j/2Q==')
    expect(photo.attributes('alt')).toBe('来访人照片（2025-06-01 拍摄）')
    w.unmount()
  })

  it('attaches a returning visitor\'s visit to the earlier matter the clerk picks and shows 不再受理', async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = []
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> })
      if (cmd === 'check_id')
        return { valid: true, normalized: GOOD, sex: 'male', birth_date: '1980-01-15', region_name: '沁水县', error: null, warnings: [], conflicts: [] }
      if (cmd === 'person_matters')
        return [
          { matter_id: 'm0', status: 'accepted', status_label: '已受理', received_on: '2026-11-02', appeal_kind: 'claim', category_code: 'labour_social_security', confidential: false, visits: 1, last_visit_at: '2026-11-02T09:00:00+08:00', not_accepted_again: true },
        ]
      if (cmd === 'register_repeat_visit')
        return {
          registered: { visit_id: 'v1', visitor_ids: ['p1'], repeat_of: ['v0'], queue_no: 3, queue_label: '3', matter_id: 'm0', is_repeat: true, refusal: { field: 'matter_id', code: 'not_accepted_again', message: '该事项正在办理中（已受理），同一事实和理由在办理期间不再重复受理。' }, skip_level: { flagged: false } },
          warnings: [],
        }
      return []
    })
    const w = mountView()
    await w.find(q('visitor-name')).setValue('张建国')
    await w.find(q('visitor-id-number')).setValue(GOOD)
    await sleep(300)
    const matters = w.find(q('person-matters'))
    expect(matters.text()).toContain('已受理')
    expect(matters.text()).toContain('不再受理')
    await w.find(`${q('attach-matter')} input`).setValue(true)
    await w.find(q('visit-appeal')).setValue('拖欠工资')
    await w.find(q('register-submit')).trigger('click')
    await sleep(10)
    const sent = calls.find((c) => c.cmd === 'register_repeat_visit')
    expect(sent?.args.matterId).toBe('m0')
    expect(calls.some((c) => c.cmd === 'register_visit')).toBe(false)
    expect(w.find(q('refusal')).text()).toContain('不再重复受理')
    w.unmount()
  })

  it('flags a 越级访 with its 属地 and prints the 越级走访告知书 for the visit', async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = []
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> })
      if (cmd === 'check_id')
        return { valid: true, normalized: GOOD, sex: 'male', birth_date: '1980-01-15', region_name: '沁水县', error: null, warnings: [], conflicts: [] }
      if (cmd === 'register_visit')
        return {
          registered: {
            visit_id: 'v9', visitor_ids: ['p1'], repeat_of: [], queue_no: 4, queue_label: '4', matter_id: 'm9', is_repeat: false,
            skip_level: { flagged: true, basis: 'place', local_code: '140521', local_name: '沁水县', authority: '沁水县信访局', message: '越级访：问题发生在沁水县……' },
          },
          warnings: [{ field: 'place_code', code: 'skip_level', message: '越级访：问题发生在沁水县，请告知信访人逐级走访。' }],
        }
      if (cmd === 'print_visit_notice')
        return { kind: 'skip_level_guidance', title: '越级走访告知书', path: '/data/notices/越级走访告知书-v9.pdf', file_name: '越级走访告知书-v9.pdf', bytes: 60000 }
      if (cmd === 'open_notice') return '/data/notices/越级走访告知书-v9.pdf'
      return []
    })
    const w = mountView()
    await w.find(q('visitor-name')).setValue('王五')
    await w.find(q('visitor-id-number')).setValue(GOOD)
    await w.find(q('visit-appeal')).setValue('征地补偿款未发放')
    await w.find(q('register-submit')).trigger('click')
    await sleep(10)
    expect(w.find(q('skip-level-tag')).text()).toBe('越级访')
    expect(w.find(q('skip-level')).text()).toContain('沁水县信访局')
    await w.find(q('print-skip-level-notice')).trigger('click')
    await sleep(10)
    const printed = calls.find((c) => c.cmd === 'print_visit_notice')
    expect(printed?.args).toMatchObject({ visitId: 'v9', kind: 'skip_level_guidance' })
    expect(calls.find((c) => c.cmd === 'open_notice')?.args).toMatchObject({ fileName: '越级走访告知书-v9.pdf' })
    expect(w.find(q('skip-level-notice-path')).text()).toContain('越级走访告知书-v9.pdf')
    w.unmount()
  })

  it('shows why the 越级走访告知书 was not printed', async () => {
    mockIPC((cmd) => {
      if (cmd === 'check_id')
        return { valid: true, normalized: GOOD, sex: 'male', birth_date: '1980-01-15', region_name: '沁水县', error: null, warnings: [], conflicts: [] }
      if (cmd === 'register_visit')
        return {
          registered: {
            visit_id: 'v9', visitor_ids: ['p1'], repeat_of: [], queue_no: 4, queue_label: '4', matter_id: 'm9', is_repeat: false,
            skip_level: { flagged: true, basis: 'place', local_code: '140521', local_name: '沁水县', authority: '沁水县信访局', message: '越级访' },
          },
          warnings: [],
        }
      if (cmd === 'print_visit_notice') throw commandError('', 'forbidden', '您没有打印信访事项文书的权限。')
      return []
    })
    const w = mountView()
    await w.find(q('visitor-name')).setValue('王五')
    await w.find(q('visitor-id-number')).setValue(GOOD)
    await w.find(q('visit-appeal')).setValue('征地补偿款未发放')
    await w.find(q('register-submit')).trigger('click')
    await sleep(10)
    await w.find(q('print-skip-level-notice')).trigger('click')
    await sleep(10)
    expect(w.find(q('skip-level-notice-error')).text()).toContain('权限')
    w.unmount()
  })

  it('prints the queue slip of the visit just registered, 80 mm or A5, and says why not', async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = []
    let fail = false
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> })
      if (cmd === 'check_id')
        return { valid: true, normalized: GOOD, sex: 'male', birth_date: '1980-01-15', region_name: '沁水县', error: null, warnings: [], conflicts: [] }
      if (cmd === 'register_visit')
        return {
          registered: { visit_id: 'v7', visitor_ids: ['p1'], repeat_of: [], queue_no: 7, queue_label: '17', matter_id: 'm7', is_repeat: false, skip_level: null },
          warnings: [],
        }
      if (cmd === 'print_queue_slip') {
        if (fail) throw commandError('', 'open_failed', '无法打开排队单：请在文件管理器中打开该文件打印。')
        return { queue_label: '17', path: '/data/notices/排队单-17.pdf', bytes: 9000 }
      }
      return []
    })
    const w = mountView()
    await w.find(q('visitor-name')).setValue('王五')
    await w.find(q('visitor-id-number')).setValue(GOOD)
    await w.find(q('visit-appeal')).setValue('拖欠工资')
    await w.find(q('register-submit')).trigger('click')
    await sleep(10)
    await w.find(q('print-slip')).trigger('click')
    await sleep(10)
    expect(calls.find((c) => c.cmd === 'print_queue_slip')?.args).toEqual({ visitId: 'v7', size: 'receipt' })
    expect(w.find(q('slip-path')).text()).toContain('17 号排队单已打开')
    expect(w.find(q('slip-path')).text()).not.toContain('/data')
    fail = true
    await w.find(q('print-slip-a5')).trigger('click')
    await sleep(10)
    expect(calls.filter((c) => c.cmd === 'print_queue_slip').map((c) => c.args.size)).toEqual(['receipt', 'a5'])
    expect(w.find(q('slip-error')).text()).toContain('请在文件管理器中打开')
    expect(w.find(q('slip-path')).exists()).toBe(false)
    w.unmount()
  })
})
