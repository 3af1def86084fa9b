import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import ChangePassword from '../components/ChangePassword.vue'
import { commandError, setup, sleep } from './helpers'

afterEach(() => clearMocks())

describe('ChangePassword', () => {
  it('shows a wrong current password at its field, then changes it', async () => {
    const { plugins } = setup()
    const sent: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd !== 'change_password') return null
      sent.push(JSON.parse(JSON.stringify(args)))
      const form = (args as { form: { old_password: string } }).form
      if (form.old_password !== 'old-pass-2026') throw commandError('old_password', 'bad_credentials', '当前密码不正确，请重新输入。')
      return null
    })
    const w = mount(ChangePassword, { global: { plugins }, attachTo: document.body })
    await w.find('[data-testid="change-password"]').trigger('click')
    await sleep(10)
    const body = document.body
    const input = (id: string) => body.querySelector(`[data-testid="${id}"]`) as HTMLInputElement
    const type = async (id: string, v: string) => {
      input(id).value = v
      input(id).dispatchEvent(new Event('input'))
      await sleep(0)
    }
    await type('pw-old', 'wrong')
    await type('pw-new', 'new-pass-2026')
    await type('pw-repeat', 'new-pass-2026')
    ;(body.querySelector('[data-testid="pw-submit"]') as HTMLButtonElement).click()
    await sleep(10)
    expect(body.querySelector('[data-testid="field-error"][data-field="old_password"]')?.textContent).toContain('当前密码不正确')
    await type('pw-old', 'old-pass-2026')
    ;(body.querySelector('[data-testid="pw-submit"]') as HTMLButtonElement).click()
    await sleep(10)
    expect(sent[1]).toEqual({ form: { old_password: 'old-pass-2026', password: 'new-pass-2026', password_repeat: 'new-pass-2026' } })
    expect(body.querySelector('[data-testid="pw-done"]')?.textContent).toContain('密码已修改')
    // The passwords are not kept in the form after the change.
    expect(input('pw-old').value).toBe('')
    w.unmount()
  })
})
