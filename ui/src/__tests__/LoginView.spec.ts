import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import LoginView from '../views/LoginView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

describe('LoginView', () => {
  it('shows a wrong password at the password field', async () => {
    const { plugins } = setup()
    mockIPC((cmd) => {
      if (cmd === 'login') throw commandError('password', 'bad_credentials', '用户名或密码不正确，请重新输入。')
      return null
    })
    const w = mount(LoginView, { global: { plugins }, attachTo: document.body })
    await w.find('[data-testid="login-username"]').setValue('clerk')
    await w.find('[data-testid="login-password"]').setValue('wrong')
    await w.find('[data-testid="login-submit"]').trigger('submit')
    await sleep(10)
    const err = w.find('[data-testid="field-error"][data-field="password"]')
    expect(err.text()).toBe('用户名或密码不正确，请重新输入。')
    expect(useSessionStore().loggedIn).toBe(false)
    w.unmount()
  })

  it('logs in and goes to the role\'s home', async () => {
    const { plugins, router } = setup()
    mockIPC((cmd, args) => {
      if (cmd === 'login') {
        expect(args).toEqual({ username: 'clerk', password: 'pw-12345' })
        return clerkSession
      }
      return cmd === 'reference' ? reference : null
    })
    const w = mount(LoginView, { global: { plugins } })
    await w.find('[data-testid="login-username"]').setValue('clerk')
    await w.find('[data-testid="login-password"]').setValue('pw-12345')
    await w.find('form').trigger('submit')
    await sleep(10)
    expect(useSessionStore().session?.staff.display_name).toBe('王接待')
    expect(router.currentRoute.value.path).toBe('/register')
  })

  it('says it is still opening the data when the login takes more than a second', async () => {
    const { plugins } = setup()
    let finish!: () => void
    mockIPC((cmd) => {
      if (cmd === 'login') return new Promise((resolve) => (finish = () => resolve(clerkSession)))
      return cmd === 'reference' ? reference : null
    })
    const w = mount(LoginView, { global: { plugins } })
    await w.find('[data-testid="login-username"]').setValue('clerk')
    await w.find('[data-testid="login-password"]').setValue('pw-12345')
    await w.find('form').trigger('submit')
    await sleep(500)
    expect(w.find('[data-testid="login-slow"]').exists()).toBe(false)
    await sleep(600)
    expect(w.find('[data-testid="login-slow"]').text()).toContain('正在打开本机数据')
    finish()
    await sleep(10)
    expect(w.find('[data-testid="login-slow"]').exists()).toBe(false)
    expect(useSessionStore().loggedIn).toBe(true)
  })

  it('sets a new password with the recovery key and comes back to the login', async () => {
    const { plugins } = setup()
    const calls: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd !== 'recover_password') return null
      calls.push(JSON.parse(JSON.stringify(args)))
      const input = (args as { input: { recovery_key: string } }).input
      if (input.recovery_key !== 'ABCD-EFGH-JKMN-PQRS-TUVW-XYZ2-3456-789A')
        throw commandError('recovery_key', 'bad_recovery_key', '恢复密钥不正确：请核对纸上的每一组字符后重新输入。')
      return null
    })
    const w = mount(LoginView, { global: { plugins }, attachTo: document.body })
    await w.find('[data-testid="login-username"]').setValue('admin')
    await w.find('[data-testid="forgot-password"]').trigger('click')
    await sleep(10)
    expect((w.find('[data-testid="recover-username"]').element as HTMLInputElement).value).toBe('admin')
    await w.find('[data-testid="recover-key"]').setValue('AAAA')
    await w.find('[data-testid="recover-password"]').setValue('new-pass-2026')
    await w.find('[data-testid="recover-repeat"]').setValue('new-pass-2026')
    await w.find('[data-testid="recover-form"]').trigger('submit')
    await sleep(10)
    expect(w.find('[data-testid="field-error"][data-field="recovery_key"]').text()).toContain('恢复密钥不正确')
    await w.find('[data-testid="recover-key"]').setValue('ABCD-EFGH-JKMN-PQRS-TUVW-XYZ2-3456-789A')
    await w.find('[data-testid="recover-form"]').trigger('submit')
    await sleep(10)
    expect(calls).toHaveLength(2)
    expect(calls[1]).toEqual({
      input: {
        recovery_key: 'ABCD-EFGH-JKMN-PQRS-TUVW-XYZ2-3456-789A',
        username: 'admin',
        password: 'new-pass-2026',
        password_repeat: 'new-pass-2026',
      },
    })
    expect(w.find('[data-testid="recover-form"]').exists()).toBe(false)
    expect(w.find('[data-testid="recover-done"]').text()).toContain('已为 admin 设置新密码')
    w.unmount()
  })
})
