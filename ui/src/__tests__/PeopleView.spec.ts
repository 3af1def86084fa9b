import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { useSessionStore } from '../stores/session'
import PeopleView from '../views/PeopleView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

const person = (id: string, name: string, visits: number) => ({
  visitor_id: id,
  name,
  id_type: 'resident_id',
  id_type_label: '居民身份证',
  id_number_masked: '1405**********013',
  phone_masked: null,
  birth_date: '1980-01-15',
  visit_count: visits,
  last_visit_at: '2026-12-01T09:00:00+08:00',
  reporter: false,
})

const zhang = person('p-1', '张三', 2)
const zhang2 = person('p-2', '张叁', 1)
const pair = {
  keep: zhang,
  other: zhang2,
  reasons: ['sound_alike'],
  reason_labels: ['姓名读音相同、出生日期相同'],
}
const merge = {
  merge_id: 'm-1',
  survivor: { ...zhang, visit_count: 3 },
  merged: { ...zhang2, visit_count: 0 },
  reason: '同一人',
  by_name: '李科长',
  at: '2026-12-01T10:00:00+08:00',
  active: true,
  ignored: false,
}

function mountView() {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = { ...clerkSession, staff: { ...clerkSession.staff, roles: ['supervisor'] } } as never
  s.reference = reference as never
  return mount(PeopleView, { global: { plugins }, attachTo: document.body })
}

describe('PeopleView', () => {
  it('lists a pair with why, merges it keeping the chosen person, then offers the undo', async () => {
    const calls: unknown[] = []
    let page = { duplicates: [pair], duplicates_total: 1, merges: [] as unknown[] }
    mockIPC((cmd, args) => {
      if (cmd === 'people_duplicates') return page
      if (cmd === 'merge_people') {
        calls.push(args)
        page = { duplicates: [], duplicates_total: 0, merges: [merge] }
        return merge
      }
      if (cmd === 'unmerge_people') {
        calls.push(args)
        page = { duplicates: [pair], duplicates_total: 1, merges: [{ ...merge, active: false }] }
        return { ...merge, active: false }
      }
      return null
    })
    const w = mountView()
    await sleep(20)
    expect(w.findAll(q('duplicate'))).toHaveLength(1)
    expect(w.find(q('people-more')).exists()).toBe(false)
    expect(w.find(q('duplicate-reason')).text()).toBe('姓名读音相同、出生日期相同')
    expect(w.findAll(q('duplicate-name')).map((n) => n.text())).toEqual(['张三', '张叁'])
    // Keep the second one: 张三 is merged into 张叁.
    await w.find(q('merge-reason')).setValue('核对原件，系同一人')
    await w.findAll(q('merge-keep'))[1].trigger('click')
    await sleep(20)
    expect(calls).toEqual([{ keep: 'p-2', other: 'p-1', reason: '核对原件，系同一人' }])
    expect(w.find(q('people-done')).text()).toContain('已将张三并入张叁')
    expect(w.find(q('people-empty')).exists()).toBe(true)
    expect(w.find(q('merge-merged')).text()).toContain('张叁')

    await w.find(q('unmerge-reason')).setValue('核实为两人')
    await w.find(q('unmerge')).trigger('click')
    await sleep(20)
    expect(calls[1]).toEqual({ mergeId: 'm-1', reason: '核实为两人' })
    expect(w.find(q('merge-undone')).text()).toBe('已撤销')
    expect(w.findAll(q('duplicate'))).toHaveLength(1)
    w.unmount()
  })

  it('shows a refused merge at its field and keeps the pair', async () => {
    mockIPC((cmd) => {
      if (cmd === 'people_duplicates') return { duplicates: [pair], duplicates_total: 1, merges: [] }
      if (cmd === 'merge_people') throw commandError('reason', 'reason_empty', '请填写原因')
      return null
    })
    const w = mountView()
    await sleep(20)
    await w.find(q('merge-keep')).trigger('click')
    await sleep(20)
    expect(w.find('[data-testid="field-error"][data-field="reason"]').text()).toBe('请填写原因')
    expect(w.findAll(q('duplicate'))).toHaveLength(1)
    w.unmount()
  })

  it('says how many pairs there are when more are found than listed', async () => {
    mockIPC((cmd) => {
      if (cmd === 'people_duplicates') return { duplicates: [pair], duplicates_total: 2105, merges: [] }
      return null
    })
    const w = mountView()
    await sleep(20)
    expect(w.findAll(q('duplicate'))).toHaveLength(1)
    expect(w.find(q('people-more')).text()).toContain('共 2,105 对疑似重复，以下是可能性最高的 1 对')
    w.unmount()
  })

  it('draws the pairs fifty at a time, the rest on request', async () => {
    const pairs = Array.from({ length: 120 }, (_, i) => ({
      ...pair,
      keep: person(`a-${i}`, `张三${i}`, 2),
      other: person(`b-${i}`, `张叁${i}`, 1),
    }))
    mockIPC((cmd) => {
      if (cmd === 'people_duplicates') return { duplicates: pairs, duplicates_total: 120, merges: [] }
      return null
    })
    const w = mountView()
    await sleep(20)
    expect(w.findAll(q('duplicate'))).toHaveLength(50)
    expect(w.find(q('people-show-more')).text()).toContain('还有 70 对')
    await w.find(q('people-show-more')).trigger('click')
    expect(w.findAll(q('duplicate'))).toHaveLength(100)
    await w.find(q('people-show-more')).trigger('click')
    expect(w.findAll(q('duplicate'))).toHaveLength(120)
    expect(w.find(q('people-show-more')).exists()).toBe(false)
    expect(w.findAll(q('duplicate-name')).at(-1)?.text()).toBe('张叁119')
    w.unmount()
  })
})
