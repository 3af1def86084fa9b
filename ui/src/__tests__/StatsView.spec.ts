import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { useSessionStore } from '../stores/session'
import StatsView from '../views/StatsView.vue'
import PublicityView from '../views/PublicityView.vue'
import { clerkSession, commandError, reference, setup, sleep } from './helpers'

// ECharts needs a canvas; the charts' data is what matters here.
vi.mock('vue-echarts', () => ({
  default: {
    name: 'VChart',
    props: ['option'],
    emits: ['finished'],
    mounted(this: { $emit: (e: string) => void }) {
      this.$emit('finished')
    },
    template: '<div class="vchart-stub" />',
  },
}))

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`
const rate = (n: number, d: number) => ({ numerator: n, denominator: d, percent: d === 0 ? null : Math.round((n * 10000) / d) / 100 })
const count = (key: string, label: string, c: number) => ({ key, label, count: c })

function stats(from: string, to: string, visits: number) {
  return {
    stats: {
      period: { from, to },
      as_of: '2025-04-01',
      hall: null,
      visits: { visits, people: visits + 5, first_visits: visits - 1, repeat_visits: 1, skip_level_visits: 2, matters_received: visits - 1, group_visits: 1, group_people: 6, visitors: visits },
      by_hall: [count('140521', '140521', visits)],
      by_day: [count('2025-03-03', '2025-03-03', visits)],
      by_month: [count('2025-03', '2025-03', visits)],
      by_year: [count('2025', '2025', visits)],
      by_appeal_kind: [count('claim', '申诉求决类', visits)],
      by_category: [count('urban', '城乡建设', visits)],
      by_agency: [],
      by_disposition: [count('accept', '受理', 2)],
      by_legal_route: [],
      desks: { clerks: [], lawyers: [], mediators: [] },
      consultations: { total: 1, by_route: [], follow_up: 0, minutes: 20 },
      mediations: { total: 1, by_outcome: [], by_dispute_type: [], judicial_confirmation: 0 },
      backlog: { opened: 0, cleared: 0, open_at_end: 0 },
      overdue: { matters: 1, by_deadline: [] },
      rates: {
        timely_acceptance: rate(2, 3),
        on_time_conclusion: rate(1, 1),
        participation: rate(1, 1),
        satisfaction: rate(0, 0),
        evaluations: [],
      },
      completeness: { visits_without_matter: 0, matters_without_disposition: 1, consultations_without_advice: 0 },
    },
    hall_name: '沁水县信访接待大厅',
    halls: [{ value: '140521', label: '沁水县信访接待大厅', hint: '' }],
    may_export: true,
    may_export_full: false,
    may_evaluate: true,
  }
}

/** A matter behind a rate: `m2` is a report (检举控告), listed without names. */
function matterRow(id: string, counted: boolean) {
  return {
    matter_id: id,
    matter_number: `沁水-2025-03-B000${id.slice(1)}`,
    hall_code: '140521',
    received_on: '2025-03-03',
    status_label: counted ? '已受理' : '已登记',
    appeal_kind_label: '申诉求决类',
    category_name: '城乡建设',
    visitor_names: id === 'm2' ? [] : ['张三'],
    counted,
    due: '2025-03-18',
    done_on: counted ? '2025-03-10' : null,
    evaluation: null,
  }
}

function mountIt<T>(view: T) {
  const { plugins } = setup()
  const s = useSessionStore()
  s.session = clerkSession as never
  s.reference = reference as never
  return mount(view as never, { global: { plugins }, attachTo: document.body })
}

async function typeInto(w: ReturnType<typeof mountIt>, id: string, text: string) {
  await w.find(q(id)).setValue(text)
}

describe('StatsView', () => {
  it('shows the figures and rates from Rust, asks again when the range changes, and opens a rate', async () => {
    const calls: Record<string, unknown>[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'statistics') {
        const a = args as { from: string; to: string }
        calls.push(a)
        return stats(a.from, a.to, a.from === '2025-03-01' ? 3 : 7)
      }
      if (cmd === 'rate_matters') return { rows: [matterRow('m1', true), matterRow('m2', false)], more: false }
      return null
    })
    const w = mountIt(StatsView)
    await sleep(10)
    await typeInto(w, 'stats-from', '2025-03-01')
    await typeInto(w, 'stats-to', '2025-03-31')
    await w.find(q('stats-query')).trigger('click')
    await sleep(10)
    expect(calls.at(-1)).toMatchObject({ from: '2025-03-01', to: '2025-03-31', hall: null })
    expect(w.find(q('fig-visits')).text()).toBe('3')
    expect(w.find(q('fig-skip-level')).text()).toBe('2')
    expect(w.find(q('rate-timely_acceptance-value')).text()).toBe('66.67%')
    expect(w.find(q('rate-timely_acceptance-frac')).text()).toBe('2 / 3')
    expect(w.find(q('rate-satisfaction-value')).text()).toBe('—')
    expect(w.find(q('gap-matters')).text()).toBe('1')
    expect(w.find(q('chart-trend')).attributes('data-rendered')).toBe('true')
    expect(w.find(q('table-category')).text()).toContain('城乡建设')

    await typeInto(w, 'stats-from', '2025-01-01')
    await w.find(q('stats-query')).trigger('click')
    await sleep(10)
    expect(w.find(q('fig-visits')).text()).toBe('7')

    await w.find(q('rate-timely_acceptance')).trigger('click')
    await sleep(10)
    const rows = document.querySelectorAll(q('rate-matter-row'))
    expect(rows.length).toBe(2)
    expect(rows[0].getAttribute('data-counted')).toBe('yes')
    expect(rows[1].textContent).toContain('（保密）')
    w.unmount()
  })

  it('lists the matters behind a rate a page at a time, the next after the last shown', async () => {
    const asked: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'statistics') {
        const a = args as { from: string; to: string }
        return stats(a.from, a.to, 3)
      }
      if (cmd === 'rate_matters') {
        const a = args as { after: string | null }
        asked.push(a.after)
        return a.after === null
          ? { rows: [matterRow('m1', true), matterRow('m2', false)], more: true }
          : { rows: [matterRow('m3', true)], more: false }
      }
      return null
    })
    const w = mountIt(StatsView)
    await sleep(10)
    await w.find(q('rate-timely_acceptance')).trigger('click')
    await sleep(10)
    expect(document.querySelectorAll(q('rate-matter-row')).length).toBe(2)
    expect(document.querySelector(q('rate-shown'))?.textContent).toContain('已显示 2 件，共 3 件')
    ;(document.querySelector(q('rate-more')) as HTMLElement).click()
    await sleep(10)
    expect(asked).toEqual([null, 'm2'])
    expect(document.querySelectorAll(q('rate-matter-row')).length).toBe(3)
    expect(document.querySelector(q('rate-more'))).toBeNull()
    w.unmount()
  })

  it('says it is still counting when the statistics take more than a second', async () => {
    let finish: (() => void) | undefined
    mockIPC((cmd, args) => {
      if (cmd !== 'statistics') return null
      const a = args as { from: string; to: string }
      return new Promise((resolve) => (finish = () => resolve(stats(a.from, a.to, 3))))
    })
    const w = mountIt(StatsView)
    await sleep(1100)
    expect(w.find(q('stats-slow')).text()).toContain('正在统计')
    finish?.()
    await sleep(10)
    expect(w.find(q('stats-slow')).exists()).toBe(false)
    expect(w.find(q('fig-visits')).text()).toBe('3')
    w.unmount()
  })

  it('dims the figures of the last period while a new one is still being counted', async () => {
    let finish: (() => void) | undefined
    let calls = 0
    mockIPC((cmd, args) => {
      if (cmd !== 'statistics') return null
      const a = args as { from: string; to: string }
      calls += 1
      if (calls === 1) return stats(a.from, a.to, 3)
      return new Promise((resolve) => (finish = () => resolve(stats(a.from, a.to, 7))))
    })
    const w = mountIt(StatsView)
    await sleep(10)
    expect(w.find(q('stats-results')).classes()).not.toContain('stale')
    await w.find(q('stats-query')).trigger('click')
    await sleep(1100)
    // The month's figures are still there, but shown as not the ones asked for.
    expect(w.find(q('fig-visits')).text()).toBe('3')
    expect(w.find(q('stats-results')).classes()).toContain('stale')
    expect(w.find(q('stats-results')).attributes('aria-busy')).toBe('true')
    finish?.()
    await sleep(10)
    expect(w.find(q('stats-results')).classes()).not.toContain('stale')
    expect(w.find(q('fig-visits')).text()).toBe('7')
    w.unmount()
  })

  it('puts a refused date next to its field', async () => {
    mockIPC((cmd) => {
      if (cmd === 'statistics') throw commandError('from', 'date_format', '开始日期“2025/03/01”无法识别，请写成 2025-03-01 的格式。')
      return null
    })
    const w = mountIt(StatsView)
    await sleep(10)
    expect(w.find('[data-testid="field-error"][data-field="from"]').text()).toContain('2025-03-01 的格式')
    w.unmount()
  })
})

describe('PublicityView', () => {
  const week = '第三届“循法信访、依法办访”法治宣传周'
  const totals = { events: 12, units: 11, leaflets: 12550, consulted: 1020, reached: 836, posts: 7, reads: 16130 }
  const activity = {
    id: 'p1', hall_code: '140521', county: '沁水县', held_on: '2021-05-17', place: '沁水中学', units: ['沁水县信访局', '沁水县司法局'],
    kind: 'school', kind_label: '进校园', leaflets: 1400, consulted: 122, reached: 69, posts: 0, reads: 0, note: '', campaign: week,
  }
  const page = (activities: unknown[]) => ({
    activities,
    summary: { totals, by_unit: [{ key: '沁水县司法局', totals }], by_kind: [], by_month: [], by_campaign: [{ key: week, totals }] },
    kinds: [{ value: 'community', label: '进社区', hint: '' }],
    may_record: true,
    campaigns: [week, '2021年宪法宣传周'],
  })

  it('records an activity with its units split and its campaign, and shows the totals from Rust', async () => {
    let added: Record<string, unknown> | null = null
    mockIPC((cmd, args) => {
      if (cmd === 'publicity') return page([])
      if (cmd === 'add_publicity') {
        added = (args as { input: Record<string, unknown> }).input
        return { ...activity, held_on: '2025-03-15', place: '城关社区', kind: 'community', kind_label: '进社区' }
      }
      return null
    })
    const w = mountIt(PublicityView)
    await sleep(10)
    expect(w.find(q('pub-total-events')).text()).toBe('12')
    expect(w.find(q('pub-total-reads')).text()).toBe('16130')
    expect(w.find(q('pub-by-campaign')).text()).toContain(week)
    await typeInto(w, 'pub-held-on', '2025-03-15')
    await typeInto(w, 'pub-place', '城关社区')
    await typeInto(w, 'pub-units', '县司法局、县信访局')
    await typeInto(w, 'pub-campaign', week)
    await w.find(q('pub-submit')).trigger('click')
    await sleep(10)
    expect(added).toMatchObject({ held_on: '2025-03-15', place: '城关社区', units: ['县司法局', '县信访局'], kind: 'community', campaign: week })
    expect(w.find(q('pub-message')).text()).toContain('城关社区')
    // The next activity keeps the campaign.
    expect((w.find(q('pub-campaign')).element as HTMLInputElement).value).toBe(week)
    w.unmount()
  })

  it('lists each activity with its county and campaign, all campaigns at first', async () => {
    const asked: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'publicity') {
        asked.push((args as { campaign: unknown }).campaign)
        return page([activity, { ...activity, id: 'p2', campaign: '' }])
      }
      return null
    })
    const w = mountIt(PublicityView)
    await sleep(10)
    expect(asked).toEqual([null])
    const counties = w.findAll(q('pub-row-county')).map((c) => c.text())
    expect(counties).toEqual(['沁水县', '沁水县'])
    const campaigns = w.findAll(q('pub-row-campaign')).map((c) => c.text())
    expect(campaigns).toEqual([week, '（未填活动名称）'])
    w.unmount()
  })
})
