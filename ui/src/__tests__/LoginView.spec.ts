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
})
