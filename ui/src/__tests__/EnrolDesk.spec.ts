import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { ElMessageBox } from 'element-plus'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { useSessionStore } from '../stores/session'
import SettingsView from '../views/SettingsView.vue'
import BackupReminder from '../components/BackupReminder.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

// 连接服务器 (issues 17 and 20): what the desk is enrolled as, the CA from a file, enrolment
// (查找本大厅服务器 fills the address), 测试连接, 断开服务器 and 由本机接替.
afterEach(() => {
  clearMocks()
  vi.restoreAllMocks()
})

const q = (name: string) => `[data-testid="${name}"]`
const adminSession = { ...clerkSession, staff: { ...clerkSession.staff, username: 'admin', display_name: '管理员', roles: ['admin'] } }

const notEnrolled = {
  enrolled: false,
  server: null,
  hall_code: '140521',
  hall_name: '沁水县',
  desk_name: 'desk-pc-3',
  last_sync_at: null,
  pending: 0,
  trusted_ca: [],
  copied: false,
}
const enrolled = {
  ...notEnrolled,
  enrolled: true,
  server: 'https://192.168.1.20:8750',
  desk_name: '登记窗口一',
  last_sync_at: '2026-12-05T09:30:00+08:00',
  pending: 3,
}

function mountAs(session: object) {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = session as never
  s.reference = reference as never
  s.settings = { display: 'standard', reader: { kind: 'none', port: '', url: '', field_map: '' } }
  return mount(SettingsView, { global: { plugins }, attachTo: document.body })
}

type Call = { cmd: string; args: unknown }
const copy = (a: unknown) => JSON.parse(JSON.stringify(a ?? null))

/** Answers `connection_info` with what `state()` says now, and the rest with `answer`. */
function ipc(calls: Call[], state: () => object, answer: (cmd: string, args: unknown) => unknown = () => null) {
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: copy(args) })
    if (cmd === 'connection_info') return state()
    return answer(cmd, args)
  })
}

describe('连接服务器', () => {
  it('finds the hall server, fills its address and enrols with the code and a name', async () => {
    const calls: Call[] = []
    let info: object = notEnrolled
    ipc(calls, () => info, (cmd) => {
      if (cmd === 'discover_servers') return [{ url: 'https://192.168.1.20:8750', halls: ['140521'], this_hall: true }]
      if (cmd === 'enrol_desk') {
        info = enrolled
        return { server: 'https://192.168.1.20:8750', hall_code: '140521', hall_name: '沁水县', desk_name: '登记窗口一' }
      }
      return null
    })
    const w = mountAs(adminSession)
    await sleep(10)
    expect(w.find(q('connection-state')).text()).toContain('未登记')
    await w.find(q('discover-servers')).trigger('click')
    await sleep(10)
    expect(w.find(q('discover-list')).text()).toContain('（本大厅）')
    await w.find(q('discover-choose')).trigger('click')
    await sleep(1)
    expect((w.find(q('enrol-server')).element as HTMLInputElement).value).toBe('https://192.168.1.20:8750')
    await w.find(q('enrol-code')).setValue('ABCD-1234')
    await w.find(q('enrol-name')).setValue('登记窗口一')
    await w.find(q('enrol-submit')).trigger('click')
    await sleep(10)
    expect(calls.find((c) => c.cmd === 'enrol_desk')?.args).toEqual({
      server: 'https://192.168.1.20:8750',
      code: 'ABCD-1234',
      deskName: '登记窗口一',
    })
    expect(w.find(q('enrol-done')).text()).toContain('本机已连接服务器')
    // The page now shows the enrolment, and no second enrol form.
    expect(w.find(q('connection-state')).text()).toContain('已登记到 https://192.168.1.20:8750')
    expect(w.find(q('connection-pending')).text()).toContain('3 条')
    expect(w.find(q('enrol-code')).exists()).toBe(false)
    w.unmount()
  })

  it('says so when nothing answers, and is not shown to a clerk', async () => {
    ipc([], () => notEnrolled, (cmd) => (cmd === 'discover_servers' ? [] : null))
    const w = mountAs(adminSession)
    await sleep(10)
    await w.find(q('discover-servers')).trigger('click')
    await sleep(10)
    expect(w.find(q('discover-none')).text()).toContain('没有找到服务器')
    w.unmount()
    const c = mountAs(clerkSession)
    expect(c.find(q('enrol-settings')).exists()).toBe(false)
    c.unmount()
  })

  it('sends the chosen CA file to be checked, shows its refusal at the field, and names a kept one', async () => {
    const calls: Call[] = []
    let info: object = notEnrolled
    ipc(calls, () => info, (cmd, args) => {
      if (cmd !== 'set_trusted_ca') return null
      const pem = (args as { pem: string }).pem
      if (!pem.includes('BEGIN CERTIFICATE')) throw commandError('ca', 'ca_unusable', '这个文件不能用作 CA 证书（不是 PEM 格式的证书文件）')
      const ca = [{ name: '晋城市信访局 CA', valid_until: '2036-01-01' }]
      info = { ...notEnrolled, trusted_ca: ca }
      return ca
    })
    const w = mountAs(adminSession)
    await sleep(10)
    const input = w.find(q('ca-file'))
    const choose = async (text: string) => {
      Object.defineProperty(input.element, 'files', { value: [new File([text], 'ca.pem')], configurable: true })
      await input.trigger('change')
      await sleep(10)
    }
    await choose('not a certificate')
    expect(w.text()).toContain('不能用作 CA 证书')
    expect(w.find(q('connection-ca')).text()).toContain('只信任系统自带的证书')
    await choose('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    expect(calls.filter((c) => c.cmd === 'set_trusted_ca').at(-1)?.args).toEqual({
      pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    })
    expect(w.find(q('connection-ca')).text()).toContain('晋城市信访局 CA（有效期至 2036-01-01）')
    w.unmount()
  })

  it('tests the link and leaves only when told twice while changes wait', async () => {
    const calls: Call[] = []
    let info: object = enrolled
    ipc(calls, () => info, (cmd, args) => {
      if (cmd === 'test_connection') return { ok: true, message: '连接正常：服务器已应答。本机的登记有效。' }
      if (cmd === 'leave_server') {
        if (!(args as { evenIfPending: boolean }).evenIfPending) {
          throw commandError('even_if_pending', 'pending_changes', '本机还有 3 条变更没有上传到服务器：请先联网同步；确需现在断开，请勾选“仍要断开”。')
        }
        info = notEnrolled
      }
      return null
    })
    const w = mountAs(adminSession)
    await sleep(10)
    await w.find(q('connection-test')).trigger('click')
    await sleep(10)
    expect(calls.find((c) => c.cmd === 'test_connection')?.args).toEqual({ server: null })
    expect(w.find(q('connection-tested')).text()).toContain('登记有效')

    const asked = vi.spyOn(ElMessageBox, 'confirm').mockResolvedValue('confirm' as never)
    const confirm = async () => {
      await w.find(q('connection-leave')).trigger('click')
      await sleep(10)
    }
    await confirm()
    expect(w.text()).toContain('仍要断开')
    await w.find(q('connection-leave-anyway')).find('input').setValue(true)
    await confirm()
    expect(calls.filter((c) => c.cmd === 'leave_server').map((c) => c.args)).toEqual([
      { evenIfPending: false },
      { evenIfPending: true },
    ])
    expect(asked).toHaveBeenCalledTimes(2)
    expect(w.find(q('connection-state')).text()).toContain('未登记')
    w.unmount()
  })

  it('offers 由本机接替 for a copied store', async () => {
    const calls: Call[] = []
    let info: object = { ...enrolled, copied: true }
    ipc(calls, () => info, (cmd) => {
      if (cmd === 'adopt_this_copy') info = enrolled
      return null
    })
    const w = mountAs(adminSession)
    await sleep(10)
    expect(w.find(q('connection-copied')).text()).toContain('复制来的')
    vi.spyOn(ElMessageBox, 'confirm').mockResolvedValue('confirm' as never)
    await w.find(q('connection-adopt')).trigger('click')
    await sleep(10)
    expect(calls.some((c) => c.cmd === 'adopt_this_copy')).toBe(true)
    expect(w.find(q('connection-copied')).exists()).toBe(false)
    w.unmount()
  })
})

describe('该备份了', () => {
  it('shows the reminder Rust gives, with the way to the backup page, and nothing otherwise', async () => {
    let reminder: object | null = { days: 9, message: '本机上次备份已是 9 天前：请到“备份与恢复”备份一次。' }
    mockIPC((cmd) => (cmd === 'backup_reminder' ? reminder : null))
    const { plugins, router } = setup()
    await router.push('/today')
    const w = mount(BackupReminder, { global: { plugins } })
    await sleep(10)
    expect(w.find(q('backup-reminder')).text()).toContain('9 天前')
    expect(w.find(q('backup-reminder-go')).attributes('href')).toBe('/backup')
    reminder = null
    await router.push('/register')
    await sleep(10)
    expect(w.find(q('backup-reminder')).exists()).toBe(false)
    w.unmount()
  })
})
