import { describe, expect, it } from 'vitest'
import { ref } from 'vue'
import { ApiError } from '../api'
import { SLOW_AFTER_MS, useAction } from '../composables/useAction'
import { commandError, sleep } from './helpers'

const refused = (field: string, message: string) => new ApiError(commandError(field, 'bad', message) as never)
const general = (message: string) =>
  new ApiError({ kind: 'forbidden', field: null, code: 'forbidden', message, errors: [] })

/** A call the test finishes when it wants, to look at the state while it runs. */
function pending<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('useAction', () => {
  it('says a call is slow once it has run longer than a second, and not after it ends', async () => {
    const a = useAction()
    const quick = pending<number>()
    const first = a.run(() => quick.promise)
    await sleep(SLOW_AFTER_MS - 1)
    expect(a.slow.value).toBe(false)
    quick.resolve(1)
    await first
    await sleep(10)
    expect(a.slow.value).toBe(false)

    const long = pending<number>()
    const second = a.run(() => long.promise)
    await sleep(SLOW_AFTER_MS)
    expect(a.slow.value).toBe(true)
    long.reject(general('没有权限。'))
    await second
    expect(a.slow.value).toBe(false)
    expect(a.busy.value).toBe(false)
  })

  it('is busy while the call runs, refuses a second one, and says what was done', async () => {
    const a = useAction()
    const p = pending<{ name: string }>()
    const first = a.run(() => p.promise, { done: (r) => `已保存${r.name}。` })
    expect(a.busy.value).toBe(true)
    let secondRan = false
    expect(
      await a.run(async () => {
        secondRan = true
      }),
    ).toBeUndefined()
    expect(secondRan).toBe(false)
    p.resolve({ name: '张三' })
    expect(await first).toEqual({ name: '张三' })
    expect(a.busy.value).toBe(false)
    expect(a.done.value).toBe('已保存张三。')
  })

  it('puts a refusal at its fields, or as one message, and clears both on the next call', async () => {
    const a = useAction()
    expect(await a.run(() => Promise.reject(refused('leader', '请填写包联领导。')))).toBeUndefined()
    expect(a.errors.leader).toBe('请填写包联领导。')
    expect(a.general.message).toBe('')
    expect(a.busy.value).toBe(false)

    await a.run(() => Promise.reject(general('当前账号没有权限。')))
    expect(a.errors.leader).toBeUndefined()
    expect(a.general.message).toBe('当前账号没有权限。')

    await a.run(async () => 1, { done: '好了。' })
    expect(a.general.message).toBe('')
    expect(a.done.value).toBe('好了。')
  })

  it('a failed call clears the last success message', async () => {
    const a = useAction()
    await a.run(async () => 1, { done: '好了。' })
    await a.run(() => Promise.reject(general('没有保存。')))
    expect(a.done.value).toBe('')
  })

  it('writes success into a shared ref and keeps a row’s errors to that row', async () => {
    const info = ref('旧消息')
    const a = useAction({ done: info })
    const b = useAction({ done: info })
    await a.run(() => Promise.reject(refused('value', '电话号码应为 11 位。')), { key: 'c1' })
    expect(a.errorsOf('c1').value).toBe('电话号码应为 11 位。')
    expect(a.errorsOf('c2').value).toBeUndefined()
    expect(info.value).toBe('')
    await b.run(async () => null, { done: '已处理。' })
    expect(info.value).toBe('已处理。')
  })

  it('tells which row is running', async () => {
    const a = useAction()
    const p = pending<void>()
    const run = a.run(() => p.promise, { key: 'm7' })
    expect(a.isBusy('m7')).toBe(true)
    expect(a.isBusy('m8')).toBe(false)
    expect(a.running.value).toBe('m7')
    p.resolve()
    await run
    expect(a.isBusy('m7')).toBe(false)
  })

  it('renames a command’s fields for the form', async () => {
    const a = useAction({ field: (f) => (f.startsWith('units') ? 'units' : f) })
    await a.run(() => Promise.reject(refused('units[2]', '单位名称不能为空。')))
    expect(a.errors).toEqual({ units: '单位名称不能为空。' })
  })

  it('shows a plain exception’s text as the message', async () => {
    const a = useAction()
    await a.run(() => Promise.reject(new Error('网络中断')))
    expect(a.general.message).toContain('网络中断')
  })
})
