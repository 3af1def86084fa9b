import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import SettingsView from '../views/SettingsView.vue'
import { clerkSession, reference, setup, sleep } from './helpers'

// Issue 17: 查找本大厅服务器 lists the servers found on the LAN; choosing one fills the address.
afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`
const adminSession = { ...clerkSession, staff: { ...clerkSession.staff, username: 'admin', display_name: '管理员', roles: ['admin'] } }

function mountAs(session: object) {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = session as never
  s.reference = reference as never
  s.settings = { display: 'standard', reader: { kind: 'none', port: '', url: '' } }
  return mount(SettingsView, { global: { plugins }, attachTo: document.body })
}

describe('连接服务器', () => {
  it('finds the hall server, fills its address and enrols with the code', async () => {
    const calls: Array<{ cmd: string; args: unknown }> = []
    mockIPC((cmd, args) => {
      calls.push({ cmd, args })
      if (cmd === 'discover_servers') return [{ url: 'https://192.168.1.20:8750', halls: ['140521'], this_hall: true }]
      if (cmd === 'enrol_desk') return { server: 'https://192.168.1.20:8750', hall_code: '140521', hall_name: '沁水县' }
      return null
    })
    const w = mountAs(adminSession)
    await w.find(q('discover-servers')).trigger('click')
    await sleep(10)
    expect(w.find(q('discover-list')).text()).toContain('https://192.168.1.20:8750')
    expect(w.find(q('discover-list')).text()).toContain('（本大厅）')
    await w.find(q('discover-choose')).trigger('click')
    await sleep(1)
    expect((w.find(q('enrol-server')).element as HTMLInputElement).value).toBe('https://192.168.1.20:8750')
    await w.find(q('enrol-code')).setValue('ABCD-1234')
    await w.find(q('enrol-submit')).trigger('click')
    await sleep(10)
    expect(calls.find((c) => c.cmd === 'enrol_desk')?.args).toEqual({ server: 'https://192.168.1.20:8750', code: 'ABCD-1234' })
    expect(w.find(q('enrol-done')).text()).toContain('本机已连接服务器')
    w.unmount()
  })

  it('says so when nothing answers, and is not shown to a clerk', async () => {
    mockIPC((cmd) => (cmd === 'discover_servers' ? [] : null))
    const w = mountAs(adminSession)
    await w.find(q('discover-servers')).trigger('click')
    await sleep(10)
    expect(w.find(q('discover-none')).text()).toContain('没有找到服务器')
    w.unmount()
    const c = mountAs(clerkSession)
    expect(c.find(q('enrol-settings')).exists()).toBe(false)
    c.unmount()
  })
})
