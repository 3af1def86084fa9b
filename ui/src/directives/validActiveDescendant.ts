import type { ObjectDirective } from 'vue'

// Element Plus's autocomplete points aria-activedescendant at `…-item--1` while no suggestion is
// highlighted, and aria-controls at its list before the list is first shown: elements that do
// not exist, which screen readers and axe-core take as invalid ARIA values. Such an attribute is
// dropped whenever it names no element.
const REFERENCES = ['aria-activedescendant', 'aria-controls']
const observers = new WeakMap<HTMLElement, MutationObserver>()

export const vValidActiveDescendant: ObjectDirective<HTMLElement> = {
  mounted(el) {
    const input = el.querySelector('input')
    if (!input) return
    const check = () => {
      for (const name of REFERENCES) {
        const id = input.getAttribute(name)
        if (id && !document.getElementById(id)) input.removeAttribute(name)
      }
    }
    check()
    const observer = new MutationObserver(check)
    observer.observe(input, { attributes: true, attributeFilter: REFERENCES })
    observers.set(el, observer)
  },
  unmounted(el) {
    observers.get(el)?.disconnect()
    observers.delete(el)
  },
}
