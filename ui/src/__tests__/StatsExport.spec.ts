import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import StatsExport from '../components/stats/StatsExport.vue'
import { commandError, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`
const $ = (name: string) => document.querySelector<HTMLElement>(q(name))

describe('StatsExport', () => {
  it('asks where to save with a warning, fixes a refused path in the dialog, and opens what it wrote', async () => {
    const calls: [string, unknown][] = []
    let refuse = true
    mockIPC((cmd, args) => {
      calls.push([cmd, args])
      if (cmd === 'suggest_export_path') return '/home/王接待/文档/信访导出/来访台账-all-2025-03-01-2025-03-31.xlsx'
      if (cmd === 'export_ledger') {
        if (refuse) {
          refuse = false
          throw commandError('dest', 'dest_exists', '该位置已有同名文件。如要替换它，请勾选“覆盖同名文件”后再导出；或换一个文件名。')
        }
        const a = args as { dest: string }
        return { path: a.dest, file_name: '来访台账.xlsx', rows: 3, full_ids: false }
      }
      return null
    })
    const { plugins } = setup()
    const w = mount(StatsExport, {
      props: { query: { from: '2025-03-01', to: '2025-03-31', hall: null }, month: '2025-03', mayExport: true, mayExportFull: false },
      global: { plugins },
      attachTo: document.body,
    })
    await w.find(q('export-xlsx')).trigger('click')
    await sleep(20)
    expect(calls[0]).toEqual(['suggest_export_path', { kind: 'stats', from: '2025-03-01', to: '2025-03-31', hall: null, month: '2025-03' }])
    expect($('export-warning')?.textContent).toContain('勿拷贝到外网或公用电脑')
    const path = $('export-path') as HTMLInputElement
    expect(path.value).toBe('/home/王接待/文档/信访导出/来访台账-all-2025-03-01-2025-03-31.xlsx')
    path.value = '/home/王接待/桌面/来访台账.xlsx'
    path.dispatchEvent(new Event('input'))
    $('export-confirm')?.click()
    await sleep(20)
    expect(document.querySelector('[data-testid="field-error"][data-field="dest"]')?.textContent).toContain('覆盖同名文件')
    expect(w.find(q('written-file')).exists()).toBe(false)
    $('export-overwrite')?.querySelector('input')?.click()
    await sleep(5)
    $('export-confirm')?.click()
    await sleep(20)
    expect(calls.filter(([c]) => c === 'export_ledger').map(([, a]) => a)).toEqual([
      { kind: 'stats', from: '2025-03-01', to: '2025-03-31', hall: null, full: false, dest: '/home/王接待/桌面/来访台账.xlsx', overwrite: false },
      { kind: 'stats', from: '2025-03-01', to: '2025-03-31', hall: null, full: false, dest: '/home/王接待/桌面/来访台账.xlsx', overwrite: true },
    ])
    expect(w.find(q('written-file')).text()).toContain('/home/王接待/桌面/来访台账.xlsx')
    await w.find(q('written-open')).trigger('click')
    await sleep(10)
    expect(calls.at(-1)).toEqual(['open_export', { path: '/home/王接待/桌面/来访台账.xlsx' }])
    w.unmount()
  })
})
