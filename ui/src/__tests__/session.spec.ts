import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import { clerkSession, reference, setup } from './helpers'

afterEach(() => clearMocks())

describe('session store', () => {
  it('logs in, loads the reference lists and lands the clerk on registration', async () => {
    setup()
    mockIPC((cmd) => (cmd === 'login' ? clerkSession : cmd === 'reference' ? reference : null))
    const s = useSessionStore()
    await s.login('clerk', 'pw')
    expect(s.loggedIn).toBe(true)
    expect(s.reference?.categories[0].label).toBe('劳动和社会保障')
    expect(s.home).toBe('/register')
  })

  it('sends lawyers to their desk and admins to staff admin', () => {
    setup()
    const s = useSessionStore()
    s.session = { ...clerkSession, staff: { ...clerkSession.staff, roles: ['lawyer'] } }
    expect(s.home).toBe('/lawyer')
    s.session = { ...clerkSession, staff: { ...clerkSession.staff, roles: ['admin'] } }
    expect(s.home).toBe('/staff')
  })

  it('forgets the session when Rust ends it, and says why', () => {
    setup()
    const s = useSessionStore()
    s.session = clerkSession as never
    s.ended('已超过 15 分钟未操作')
    expect(s.loggedIn).toBe(false)
    expect(s.endedBecause).toContain('15 分钟')
  })
})
