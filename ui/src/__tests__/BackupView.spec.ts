import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import BackupView, { restoredMessage } from '../views/BackupView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`
const fieldError = (field: string) => `[data-testid="field-error"][data-field="${field}"]`
const supervisor = { ...clerkSession, staff: { ...clerkSession.staff, username: 'supervisor', roles: ['supervisor'] } }

function mountView() {
  const { plugins, router } = setup()
  const s = useSessionStore()
  s.session = supervisor as never
  s.reference = reference as never
  const w = mount(BackupView, { global: { plugins }, attachTo: document.body })
  return { w, router, session: s }
}

describe('BackupView', () => {
  it('writes a backup into the chosen folder and says where; a refusal shows at the folder', async () => {
    const calls: Record<string, unknown>[] = []
    mockIPC((cmd, args) => {
      if (cmd !== 'backup_store') return null
      const a = args as { dest: string }
      calls.push(a)
      if (a.dest.startsWith('/nowhere/')) {
        throw commandError('dest', 'backup_folder_missing', '备份要放的文件夹不存在：请先建立文件夹，或换一个位置。')
      }
      return { path: a.dest, keyslots_path: `${a.dest}.keyslots.json` }
    })
    const { w } = mountView()
    expect((w.find(q('backup-name')).element as HTMLInputElement).value).toMatch(/^接待台备份-\d{8}-\d{4}\.db$/)
    await w.find(q('backup-folder')).setValue('/nowhere/')
    await w.find(q('backup-name')).setValue('b1.db')
    await w.find(q('backup-submit')).trigger('submit')
    await sleep(10)
    expect(calls[0]).toEqual({ dest: '/nowhere/b1.db' })
    expect(w.find(fieldError('folder')).text()).toContain('文件夹不存在')
    expect(w.find(q('backup-done')).exists()).toBe(false)

    await w.find(q('backup-folder')).setValue('/media/usb')
    await w.find(q('backup-submit')).trigger('submit')
    await sleep(10)
    expect(calls[1]).toEqual({ dest: '/media/usb/b1.db' })
    expect(w.find(fieldError('folder')).exists()).toBe(false)
    expect(w.find(q('backup-done')).text()).toContain('/media/usb/b1.db')
    expect(w.find(q('backup-done')).text()).toContain('/media/usb/b1.db.keyslots.json')
    w.unmount()
  })

  it('restores only once confirmed; a wrong password shows at its field and keeps the session', async () => {
    const calls: Record<string, unknown>[] = []
    mockIPC((cmd, args) => {
      if (cmd !== 'restore_store') return null
      const a = args as { backup: string; password: string }
      calls.push(a)
      if (a.password !== 'right-pass') throw commandError('password', 'bad_credentials', '用户名或密码不正确')
      return { hall_code: '140521', last_seq: 42, kept_replaced: true }
    })
    const { w, router, session } = mountView()
    await router.push('/backup')
    expect(w.find(q('restore-warning')).text()).toContain('替换本机现在的全部数据')
    await w.find(q('restore-file')).setValue('/media/usb/b1.db')
    await w.find(q('restore-password')).setValue('wrong')
    expect(w.find(q('restore-submit')).attributes('disabled')).toBeDefined()
    await w.find(q('restore-submit')).trigger('submit')
    await sleep(10)
    expect(calls).toHaveLength(0)

    await w.find(`${q('restore-confirm')} input`).setValue(true)
    expect(w.find(q('restore-submit')).attributes('disabled')).toBeUndefined()
    await w.find(q('restore-submit')).trigger('submit')
    await sleep(10)
    expect(calls[0]).toEqual({ backup: '/media/usb/b1.db', password: 'wrong' })
    expect(w.find(fieldError('password')).text()).toBe('用户名或密码不正确')
    expect(session.loggedIn).toBe(true)
    expect(router.currentRoute.value.path).toBe('/backup')

    await w.find(q('restore-password')).setValue('right-pass')
    await w.find(q('restore-submit')).trigger('submit')
    await sleep(10)
    expect(calls[1]).toEqual({ backup: '/media/usb/b1.db', password: 'right-pass' })
    // Rust ended the session: the login page says what the restore did.
    expect(session.loggedIn).toBe(false)
    expect(session.endedBecause).toBe(restoredMessage({ hall_code: '140521', last_seq: 42, kept_replaced: true }))
    expect(router.currentRoute.value.path).toBe('/login')
    w.unmount()
  })

  it('says in Chinese what a restore did', () => {
    const m = restoredMessage({ hall_code: '140521', last_seq: 42, kept_replaced: true })
    expect(m).toContain('已从备份恢复')
    expect(m).toContain('140521')
    expect(m).toContain('另存在数据目录中')
    expect(m).toContain('请重新登录')
    expect(restoredMessage({ hall_code: '140521', last_seq: 0, kept_replaced: false })).not.toContain('另存')
  })
})
