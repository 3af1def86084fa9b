import { describe, expect, it } from 'vitest'
import { vValidActiveDescendant } from '../directives/validActiveDescendant'

// MutationObserver callbacks run as microtasks.
const settle = async () => {
  await Promise.resolve()
  await Promise.resolve()
}

describe('vValidActiveDescendant', () => {
  it('drops an aria-activedescendant that names no element and keeps one that does', async () => {
    const root = document.createElement('div')
    root.innerHTML = '<input aria-activedescendant="list-item--1" aria-controls="list"><ul><li id="list-item-0"></li></ul>'
    document.body.appendChild(root)
    vValidActiveDescendant.mounted!(root, {} as never, {} as never, null)
    const input = root.querySelector('input')!
    expect(input.hasAttribute('aria-activedescendant')).toBe(false)
    expect(input.hasAttribute('aria-controls')).toBe(false)
    input.setAttribute('aria-activedescendant', 'list-item-0')
    await settle()
    expect(input.getAttribute('aria-activedescendant')).toBe('list-item-0')
    input.setAttribute('aria-activedescendant', 'list-item--1')
    await settle()
    expect(input.hasAttribute('aria-activedescendant')).toBe(false)
    vValidActiveDescendant.unmounted!(root, {} as never, {} as never, null)
    root.remove()
  })
})
