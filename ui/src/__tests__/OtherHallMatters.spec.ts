import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import OtherHallMatters from '../components/register/OtherHallMatters.vue'
import { setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

const handledInQinshui = {
  matter_id: 'm-1',
  hall_name: '沁水县',
  received_on: '2026-11-20',
  status_label: '已受理',
  appeal_kind_label: '申诉求决类',
  category_name: '劳动和社会保障',
  appeal: '拖欠工资三个月',
  agency: '沁水县人社局',
  visits: 2,
  last_visit_at: '2026-11-25T09:30:00+08:00',
  remark: {
    not_accepted_again: true,
    skip_level: { flagged: true, basis: 'handling', local_code: '140521', local_name: '沁水县', authority: '沁水县信访局', message: '越级访：该事项正由沁水县信访局（沁水县）办理' },
    message: '越级访：该事项正由沁水县信访局（沁水县）办理',
  },
}

describe('OtherHallMatters', () => {
  it('lists a matter handled at a county hall with its 越级 remark, and fills the place on request', async () => {
    const asked: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'other_hall_matters') {
        asked.push(args)
        return { entries: [handledInQinshui], live: true, fetched_at: '2026-12-03T10:00:00+08:00', note: '' }
      }
      return null
    })
    const { plugins } = setup()
    const w = mount(OtherHallMatters, { props: { idNumber: '140521198001150135' }, global: { plugins } })
    await sleep(20)
    expect(asked).toEqual([{ idNumber: '140521198001150135' }])
    expect(w.findAll(q('other-hall-matter'))).toHaveLength(1)
    expect(w.text()).toContain('沁水县')
    expect(w.text()).toContain('拖欠工资三个月')
    expect(w.find(q('other-hall-remark')).text()).toContain('越级访')
    expect(w.find(q('other-halls-note')).exists()).toBe(false)
    // No internal id on screen.
    expect(w.text()).not.toContain('m-1')
    await w.find(q('other-hall-use-place')).trigger('click')
    expect(w.emitted('use-place')).toEqual([['140521']])
    w.unmount()
  })

  it('says when the list is the one kept from an earlier answer, and shows nothing without a number', async () => {
    mockIPC((cmd) => {
      if (cmd === 'other_hall_matters')
        return {
          entries: [],
          live: false,
          fetched_at: null,
          note: '暂时连不上市局服务器，本机也没有此前查询的记录：其他大厅的事项暂时无法显示，联网后再查即可。',
        }
      return null
    })
    const { plugins } = setup()
    const w = mount(OtherHallMatters, { props: { idNumber: '' }, global: { plugins } })
    await sleep(20)
    expect(w.find(q('other-hall-matters')).exists()).toBe(false)
    await w.setProps({ idNumber: '140521198001150135' })
    await sleep(20)
    expect(w.find(q('other-halls-note')).text()).toContain('暂时连不上市局服务器')
    expect(w.findAll(q('other-hall-matter'))).toHaveLength(0)
    w.unmount()
  })
})
