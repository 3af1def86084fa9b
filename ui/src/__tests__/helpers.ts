import { vi } from 'vitest'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'

export const commandError = (field: string, code: string, message: string) => ({
  kind: 'validation',
  field,
  code,
  message,
  errors: [{ field, code, message }],
})

export const reference = {
  appeal_kinds: [
    { value: 'suggestion', label: '建议意见类', hint: '' },
    { value: 'report', label: '检举控告类', hint: '' },
    { value: 'claim', label: '申诉求决类', hint: '' },
  ],
  categories: [{ value: 'labour_social_security', label: '劳动和社会保障', hint: '' }],
  legal_routes: [{ value: 'labour_arbitration', label: '劳动人事争议仲裁', hint: '劳动争议先申请仲裁。' }],
  regions: [{ value: '140521', label: '山西省晋城市沁水县（140521）', hint: '' }],
  id_types: [{ value: 'resident_id', label: '居民身份证', hint: '' }],
  sexes: [
    { value: 'male', label: '男', hint: '' },
    { value: 'female', label: '女', hint: '' },
  ],
  dispute_types: [],
  outcomes: [],
  party_roles: [],
  roles: [{ value: 'clerk', label: '接待员', hint: '' }],
  desks: [],
}

export const clerkSession = {
  staff: { id: 's1', username: 'clerk', display_name: '王接待', roles: ['clerk'], active: true, hall_code: '140521' },
  hall_code: '140521',
  hall_name: '山西省晋城市沁水县',
  idle_minutes: 15,
}

export function setup() {
  const pinia = createPinia()
  setActivePinia(pinia)
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', component: { template: '<div />' } },
      { path: '/:any(.*)', component: { template: '<div />' } },
    ],
  })
  return { plugins: [pinia, router, ElementPlus], router }
}

/** Moves the fake clock (fakeClock.ts) and lets the promises it releases settle. */
export const tick = () => vi.advanceTimersByTimeAsync(0)
export const sleep = (ms: number) => vi.advanceTimersByTimeAsync(ms)
