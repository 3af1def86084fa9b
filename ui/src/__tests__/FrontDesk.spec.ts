import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { choiceMatches } from '../composables/useChoiceFilter'
import { useSessionStore } from '../stores/session'
import RegisterView from '../views/RegisterView.vue'
import SettingsView from '../views/SettingsView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

// Issue 19: the ID-card reader in the form and in 设置, a returning visitor from the history
// panel, the form-level error, the pinyin filter, the display mode.
afterEach(() => clearMocks())

const CARD = {
  name: '李明华',
  sex: 'male',
  id_type: 'resident_id',
  id_number: '140521198503150016',
  birth_date: '1985-03-15',
  address: '山西省晋城市沁水县龙港镇杏园东街12号',
  ethnicity: '汉',
  issuing_authority: '沁水县公安局',
  valid_to: '2035-06-01',
  expired: false,
  notice: '',
}
const CHECK_OK = { valid: true, normalized: CARD.id_number, sex: 'male', birth_date: '1985-03-15', region_name: '山西省晋城市沁水县', error: null, warnings: [], conflicts: [] }

function mountWith<T>(component: T, reader = 'none') {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = clerkSession as never
  s.reference = reference as never
  s.settings = { display: 'standard', reader: { kind: reader, port: reader === 'serial' ? '/dev/pts/7' : '', url: '', field_map: '' } }
  return mount(component as never, { global: { plugins }, attachTo: document.body })
}

const q = (name: string) => `[data-testid="${name}"]`
const value = (w: ReturnType<typeof mountWith>, name: string) => (w.find(q(name)).element as HTMLInputElement).value

describe('ID-card reader in the registration form', () => {
  it('a read fills the visitor at once, warns on an expired card and puts the cursor on the appeal', async () => {
    let reads = 0
    mockIPC((cmd) => {
      if (cmd === 'read_id_card') {
        reads++
        return { ...CARD, expired: true, valid_to: '2020-06-01', notice: '此身份证已于 2020-06-01 过期：登记可以继续，请提醒来访人及时换领。' }
      }
      if (cmd === 'check_id') return CHECK_OK
      return []
    })
    const w = mountWith(RegisterView, 'serial')
    await sleep(1)
    // The form starts at the document.
    expect(document.activeElement).toBe(w.find(q('visitor-id-number')).element)
    await w.find(q('read-card')).trigger('click')
    await sleep(10)
    expect(value(w, 'visitor-name')).toBe('李明华')
    expect(value(w, 'visitor-id-number')).toBe(CARD.id_number)
    expect(value(w, 'visitor-address')).toBe(CARD.address)
    expect(value(w, 'visitor-birth-date')).toBe('1985-03-15')
    expect(value(w, 'visitor-ethnicity')).toBe('汉')
    expect(w.find(q('card-expired')).text()).toContain('已于 2020-06-01 过期')
    expect(document.activeElement).toBe(w.find(q('visit-appeal')).element)
    expect(reads).toBe(1)
    w.unmount()
  })

  it('a card left on the reader fills a blank form once; an error of the button is shown', async () => {
    let reads = 0
    let fail = false
    mockIPC((cmd) => {
      if (cmd === 'read_id_card') {
        reads++
        if (fail) throw commandError('reader', 'timeout', '读卡器在 3 秒内没有应答：请检查读卡器电源和连线。')
        return CARD
      }
      if (cmd === 'check_id') return CHECK_OK
      return []
    })
    const w = mountWith(RegisterView, 'serial')
    await sleep(1600)
    expect(value(w, 'visitor-name')).toBe('李明华')
    await w.find(q('register-reset')).trigger('click')
    await sleep(3200)
    expect(reads).toBeGreaterThanOrEqual(2)
    expect(value(w, 'visitor-name')).toBe('')
    fail = true
    await w.find(q('read-card')).trigger('click')
    await sleep(10)
    expect(w.find(q('read-card-error')).text()).toContain('没有应答')
    w.unmount()
  })

  it('without a reader there is no read button and nothing is read', async () => {
    const asked: string[] = []
    mockIPC((cmd) => {
      asked.push(cmd)
      return []
    })
    const w = mountWith(RegisterView)
    await sleep(3200)
    expect(w.find(q('read-card')).exists()).toBe(false)
    expect(asked).not.toContain('read_id_card')
    w.unmount()
  })
})

describe('faster registration', () => {
  it('choosing a returning visitor in the history panel fills their fields', async () => {
    mockIPC((cmd, args) => {
      if (cmd === 'history')
        return [{ hit: { visitor_id: 'p1', name: '张建国', id_type: 'resident_id', id_number_masked: '1405**********0135', phone_masked: '138****5678', sex: 'male', birth_date: '1980-01-15', visit_count: 1, last_visit_at: null }, visits: [] }]
      if (cmd === 'returning_visitor') {
        expect((args as { visitorId: string }).visitorId).toBe('p1')
        return { name: '张建国', id_type: 'resident_id', id_number: '140521198001150135', phone: '13812345678', address: '沁水县龙港镇', sex: 'male', birth_date: '1980-01-15', ethnicity: '', occupation: '' }
      }
      if (cmd === 'check_id') return { ...CHECK_OK, normalized: '140521198001150135' }
      if (cmd === 'visitor_photo') return null
      return []
    })
    const w = mountWith(RegisterView)
    await w.find(q('visitor-name')).setValue('张建国')
    await sleep(300)
    await w.find(q('history-use')).trigger('click')
    await sleep(10)
    expect(value(w, 'visitor-id-number')).toBe('140521198001150135')
    expect(value(w, 'visitor-phone')).toBe('13812345678')
    expect(value(w, 'visitor-address')).toBe('沁水县龙港镇')
    w.unmount()
  })

  it('the history panel searches the document number, not the last field typed', async () => {
    const queries: string[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'history') queries.push((args as { query: string }).query)
      if (cmd === 'check_id') return CHECK_OK
      return []
    })
    const w = mountWith(RegisterView)
    await w.find(q('visitor-id-number')).setValue(CARD.id_number)
    await sleep(300)
    await w.find(q('visitor-name')).setValue('李明华')
    await sleep(300)
    await w.find(q('visitor-phone')).setValue('138')
    await sleep(300)
    expect(queries.at(-1)).toBe(CARD.id_number)
    w.unmount()
  })

  it('the form-level error goes once its field is fixed', async () => {
    mockIPC((cmd) => {
      if (cmd === 'register_visit') throw commandError('visitors[0].id_number', 'id_check_digit', '身份证号码校验位不正确')
      if (cmd === 'check_id') return CHECK_OK
      return []
    })
    const w = mountWith(RegisterView)
    await w.find(q('visitor-id-number')).setValue('140521198503150011')
    await w.find(q('register-submit')).trigger('click')
    await sleep(10)
    expect(w.find(q('form-error')).text()).toContain('1 处需要修改')
    await w.find(q('visitor-id-number')).setValue(CARD.id_number)
    await sleep(300)
    expect(w.find(q('form-error')).exists()).toBe(false)
    w.unmount()
  })

  it('a choice is found by pinyin initials as well as Chinese', () => {
    const labour = { value: 'labour', label: '劳动和社会保障', hint: '', initials: 'ldhshbz' }
    expect(choiceMatches(labour, 'ldh')).toBe(true)
    expect(choiceMatches(labour, 'LDH')).toBe(true)
    expect(choiceMatches(labour, '社会')).toBe(true)
    expect(choiceMatches(labour, 'csjs')).toBe(false)
  })
})

describe('设置', () => {
  it('tests and saves the reader, and saves the display mode', async () => {
    const calls: { cmd: string; args: unknown }[] = []
    mockIPC((cmd, args) => {
      calls.push({ cmd, args })
      if (cmd === 'test_id_reader') return CARD
      if (cmd === 'set_id_reader') return { display: 'standard', reader: { kind: 'serial', port: '/dev/pts/7', url: '', field_map: '' } }
      if (cmd === 'set_display_mode') return { display: 'large', reader: { kind: 'serial', port: '/dev/pts/7', url: '', field_map: '' } }
      return []
    })
    const w = mountWith(SettingsView, 'serial')
    expect(value(w, 'reader-port')).toBe('/dev/pts/7')
    await w.find(q('reader-test')).trigger('click')
    await sleep(10)
    expect(w.find(q('reader-card')).text()).toContain('李明华')
    expect(w.find(q('reader-card')).text()).toContain(CARD.id_number)
    await w.find(q('reader-save')).trigger('click')
    await sleep(10)
    expect(calls.find((c) => c.cmd === 'set_id_reader')?.args).toEqual({ settings: { kind: 'serial', port: '/dev/pts/7', url: '', field_map: '' } })
    await w.find(`${q('display-large')} input`).setValue(true)
    await sleep(10)
    expect(calls.find((c) => c.cmd === 'set_display_mode')?.args).toEqual({ mode: 'large' })
    expect(useSessionStore().display).toBe('large')
    w.unmount()
  })

  it('settings that arrive late do not undo a reader chosen but not yet saved', async () => {
    mockIPC(() => [])
    const { plugins } = setup()
    const s = useSessionStore()
    s.session = clerkSession as never
    s.reference = reference as never
    s.settings = null
    const w = mount(SettingsView as never, { global: { plugins }, attachTo: document.body })
    const select = w.findComponent({ name: 'ElSelect' })
    select.vm.$emit('update:modelValue', 'wedge')
    await sleep(1)
    // The settings loaded after login come in now, and again when the display mode is saved.
    s.settings = { display: 'standard', reader: { kind: 'none', port: '', url: '', field_map: '' } }
    await sleep(1)
    s.settings = { display: 'large', reader: { kind: 'none', port: '', url: '', field_map: '' } }
    await sleep(1)
    expect(w.find(q('reader-kind')).text()).toContain('键盘式读卡器')
    w.unmount()
  })

  it('shows a refused port at its field', async () => {
    mockIPC((cmd) => {
      if (cmd === 'set_id_reader') throw commandError('port', 'port_missing', '请填写读卡器的串口，例如 /dev/ttyUSB0 或 COM3。')
      return []
    })
    const w = mountWith(SettingsView, 'serial')
    await w.find(q('reader-save')).trigger('click')
    await sleep(10)
    expect(w.find('[data-testid="field-error"][data-field="port"]').text()).toContain('串口')
    w.unmount()
  })
})
