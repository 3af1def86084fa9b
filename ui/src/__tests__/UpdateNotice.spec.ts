import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import UpdateNotice from '../components/UpdateNotice.vue'
import { useSessionStore } from '../stores/session'
import { clerkSession, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`
const as = (roles: string[]) => ({ ...clerkSession, staff: { ...clerkSession.staff, roles } })
const offer = {
  version: '0.2.0',
  kind: 'desk-deb',
  size: 61234567,
  notes: '修复打印问题',
  published_at: '2026-12-01T09:00:00+08:00',
}

async function shown(roles: string[], answer: unknown) {
  const calls: string[] = []
  mockIPC((cmd) => {
    calls.push(cmd)
    return cmd === 'check_update' ? answer : null
  })
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = as(roles) as never
  s.reference = reference as never
  const w = mount(UpdateNotice, { global: { plugins } })
  await sleep(10)
  return { w, calls }
}

describe('UpdateNotice', () => {
  it('tells the supervisor of a new version with its notes and an 安装 button', async () => {
    const { w } = await shown(['supervisor'], { current: '0.1.0', offer, can_install: true })
    const text = w.get(q('update-notice')).text()
    expect(text).toContain('有新版本 0.2.0')
    expect(text).toContain('当前 0.1.0')
    expect(text).toContain('修复打印问题')
    expect(w.find(q('update-install')).text()).toBe('安装')
  })

  it('shows nothing when the desk is up to date', async () => {
    const { w } = await shown(['admin'], { current: '0.2.0', offer: null, can_install: true })
    expect(w.find(q('update-notice')).exists()).toBe(false)
  })

  it('does not ask for a clerk, and offers no 安装 where the account may not install', async () => {
    const clerk = await shown(['clerk'], { current: '0.1.0', offer, can_install: false })
    expect(clerk.calls).not.toContain('check_update')
    expect(clerk.w.find(q('update-notice')).exists()).toBe(false)
    const refused = await shown(['supervisor'], { current: '0.1.0', offer, can_install: false })
    expect(refused.w.find(q('update-notice')).exists()).toBe(true)
    expect(refused.w.find(q('update-install')).exists()).toBe(false)
  })
})
