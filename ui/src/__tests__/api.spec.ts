import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { api, ApiError, onUnauthenticated } from '../api'
import { commandError } from './helpers'

afterEach(() => clearMocks())

describe('api', () => {
  it('passes arguments in camelCase and returns the typed result', async () => {
    const seen: unknown[] = []
    mockIPC((cmd, args) => {
      seen.push([cmd, args])
      return { kind: 'ok' }
    })
    await api.handOff('v1', 'lawyer')
    expect(seen).toEqual([['hand_off', { visitId: 'v1', desk: 'lawyer', note: '' }]])
  })

  it('turns a command error into an ApiError with every field error', async () => {
    mockIPC(() => {
      throw commandError('visitors[0].id_number', 'id_check_digit', '身份证号码校验位不正确')
    })
    const e = await api.registerVisit({} as never).catch((x) => x)
    expect(e).toBeInstanceOf(ApiError)
    expect(e.kind).toBe('validation')
    expect(e.detail.errors[0].field).toBe('visitors[0].id_number')
    expect(e.message).toContain('校验位')
  })

  it('tells listeners when the session has ended', async () => {
    const ended = vi.fn()
    onUnauthenticated(ended)
    mockIPC(() => {
      throw { kind: 'unauthenticated', field: null, code: 'session_expired', message: '已自动退出', errors: [] }
    })
    await api.today().catch(() => undefined)
    expect(ended).toHaveBeenCalledOnce()
    expect(ended.mock.calls[0][0].detail.code).toBe('session_expired')
  })
})
