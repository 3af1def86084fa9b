import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import SyncStatus from '../components/SyncStatus.vue'
import { setup, sleep } from './helpers'

afterEach(() => clearMocks())

const base = {
  online: false,
  enrolled: true,
  checked: true,
  pending: 0,
  last_sync_at: null as string | null,
  last_error: null as string | null,
  unsynced_days: null as number | null,
}

async function shown(status: typeof base) {
  const { plugins } = setup()
  mockIPC((cmd) => (cmd === 'sync_status' ? status : null))
  const w = mount(SyncStatus, { global: { plugins } })
  await sleep(10)
  const text = w.get('[data-testid="sync-status"]').text()
  w.unmount()
  return text
}

describe('SyncStatus', () => {
  it('shows 在线, the pending count and the last successful sync', async () => {
    const text = await shown({ ...base, online: true, pending: 3, last_sync_at: '2026-03-02T09:15:07+08:00' })
    expect(text).toContain('在线')
    expect(text).toContain('待上传 3 条')
    expect(text).toContain('上次同步 2026-03-02 09:15')
  })

  it('shows 离线 with the Chinese error as visible text', async () => {
    const error = '无法连接市局服务器 http://127.0.0.1:8750：连接被拒绝或网络不通。请检查网络；网络恢复后再同步即可，数据不会丢失。'
    const text = await shown({ ...base, pending: 2, last_sync_at: '2026-03-02T09:15:07+08:00', last_error: error })
    expect(text).toContain('离线')
    expect(text).not.toContain('在线')
    expect(text).toContain('待上传 2 条')
    expect(text).toContain('上次同步 2026-03-02 09:15')
    expect(text).toContain('无法连接市局服务器')
  })

  it('online, still shows what the city refused', async () => {
    const error = '市级服务器拒收本机审计日志：第 3 条与前一条的哈希链接不上。请联系管理员核查本机审计日志。'
    const text = await shown({ ...base, online: true, last_sync_at: '2026-03-02T09:15:07+08:00', last_error: error })
    expect(text).toContain('在线')
    expect(text).toContain('拒收本机审计日志')
  })

  it('says how many days the desk has not reached the city, from a week on', async () => {
    const error = '本机已 8 天未与市局服务器同步：审计日志和登记的变更都还只在本机。请负责人尽快安排联网同步。'
    const text = await shown({ ...base, last_sync_at: '2026-03-02T09:15:07+08:00', last_error: error, unsynced_days: 8 })
    expect(text).toContain('已 8 天未同步')
    expect(text).toContain('请负责人尽快安排联网同步')
    expect(await shown({ ...base, last_sync_at: '2026-03-02T09:15:07+08:00' })).not.toContain('天未同步')
  })

  it('lets the clerk close the error; the status stays 离线', async () => {
    const { plugins } = setup()
    mockIPC((cmd) => (cmd === 'sync_status' ? { ...base, last_error: '无法连接市局服务器 x：连接超时。' } : null))
    const w = mount(SyncStatus, { global: { plugins } })
    await sleep(10)
    expect(w.find('[data-testid="sync-error"]').exists()).toBe(true)
    await w.get('[data-testid="sync-error-close"]').trigger('click')
    expect(w.find('[data-testid="sync-error"]').exists()).toBe(false)
    expect(w.get('[data-testid="sync-status"]').text()).toContain('离线')
    w.unmount()
  })

  it('says when the desk is not enrolled', async () => {
    const text = await shown({ ...base, enrolled: false, pending: 5, last_error: '未登记到市级服务器：…' })
    expect(text).toContain('离线')
    expect(text).toContain('未登记到市级服务器')
    expect(text).toContain('待上传 5 条')
    expect(text).not.toContain('在线')
  })

  it('is 离线 until the first attempt, and says it is checking', async () => {
    const text = await shown({ ...base, checked: false, enrolled: false })
    expect(text).toContain('离线')
    expect(text).toContain('正在检查')
  })
})
