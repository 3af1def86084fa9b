import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import CommitteeName from '../components/hall/CommitteeName.vue'
import { commandError, setup, sleep } from './helpers'

afterEach(() => clearMocks())

const q = (name: string) => `[data-testid="${name}"]`

describe('CommitteeName', () => {
  it('shows the default, refuses a name Rust refuses at its field, then saves one', async () => {
    const calls: unknown[] = []
    mockIPC((cmd, args) => {
      if (cmd === 'hall_settings') return { committee_name: '沁水县信访接待大厅人民调解委员会', committee_name_set: false }
      if (cmd === 'set_committee_name') {
        calls.push(args)
        const name = (args as { name: string }).name
        if (!name.includes('调解')) throw commandError('committee_name', 'committee_name_not_mediation', `“${name}”不像人民调解组织的名称`)
        return { committee_name: name, committee_name_set: true }
      }
      return null
    })
    const { plugins } = setup()
    const w = mount(CommitteeName, { global: { plugins }, attachTo: document.body })
    await sleep(20)
    const input = w.find(`${q('committee-name-input')} input, input${q('committee-name-input')}`)
    expect((input.element as HTMLInputElement).value).toBe('沁水县信访接待大厅人民调解委员会')
    expect(w.text()).toContain('尚未设置')

    await input.setValue('沁水县信访局')
    await w.find(q('committee-name-save')).trigger('click')
    await sleep(20)
    expect(w.find('[data-field="committee_name"]').text()).toContain('不像人民调解组织的名称')

    await input.setValue('沁水县信访事项人民调解委员会')
    await w.find(q('committee-name-save')).trigger('click')
    await sleep(20)
    expect(calls).toEqual([{ name: '沁水县信访局' }, { name: '沁水县信访事项人民调解委员会' }])
    expect(w.text()).toContain('人民调解委员会名称已保存')
    expect(w.text()).not.toContain('尚未设置')
    w.unmount()
  })
})
