import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiFailure, getJson, onSessionEnded, request } from '../api'

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }))
}

afterEach(() => vi.unstubAllGlobals())

describe('the console’s calls', () => {
  it('carry the CSRF header and the cookie of the same origin', async () => {
    const fetch = answer(200, { devices: [] })
    vi.stubGlobal('fetch', fetch)
    await getJson('/v1/city/devices')
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit]
    expect((init.headers as Record<string, string>)['X-Xinfang-Admin']).toBe('1')
    expect(init.credentials).toBe('same-origin')
  })

  it('end the session in the page when the server says it expired', async () => {
    vi.stubGlobal('fetch', answer(401, { code: 'session_expired', message: '登录已过期或已退出：请重新登录。' }))
    const ended: string[] = []
    onSessionEnded((m) => ended.push(m))
    await expect(request('GET', '/v1/city/audit')).rejects.toBeInstanceOf(ApiFailure)
    expect(ended).toEqual(['登录已过期，请重新登录。'])
    // A wrong password at login is the login screen's to say, not a session ending.
    await expect(request('POST', '/admin/api/login', {})).rejects.toThrow('登录已过期或已退出')
    expect(ended).toHaveLength(1)
  })

  it('say in Chinese when the server cannot be reached', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch') }))
    await expect(getJson('/v1/city/halls')).rejects.toThrow('无法连接市局服务器')
  })
})
