import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api } from '../api'
import type { AppInfo } from '../api/bindings/AppInfo'
import type { MySettings } from '../api/bindings/MySettings'
import type { ReferenceLists } from '../api/bindings/ReferenceLists'
import type { SessionInfo } from '../api/bindings/SessionInfo'

/** Who is logged in, the lists the forms choose from, and why the last session ended. */
export const useSessionStore = defineStore('session', () => {
  const app = ref<AppInfo | null>(null)
  const session = ref<SessionInfo | null>(null)
  const reference = ref<ReferenceLists | null>(null)
  const endedBecause = ref('')
  /** The account's display mode and this desk's ID-card reader (kept in the store). */
  const settings = ref<MySettings | null>(null)

  const roles = computed(() => session.value?.staff.roles ?? [])
  const loggedIn = computed(() => session.value !== null)

  async function loadApp() {
    app.value = await api.appInfo()
    return app.value
  }

  async function login(username: string, password: string) {
    session.value = await api.login(username, password)
    endedBecause.value = ''
    reference.value = await api.reference()
    await loadSettings()
  }

  /** A failure leaves the standard display and no reader: nothing needs them to work. */
  async function loadSettings() {
    settings.value = await api.mySettings().catch(() => null)
  }

  async function restore() {
    session.value = await api.session()
    if (session.value && !reference.value) reference.value = await api.reference()
    if (session.value && !settings.value) await loadSettings()
  }

  async function logout(reason = '') {
    endedBecause.value = reason
    session.value = null
    settings.value = null
    await api.logout().catch(() => undefined)
  }

  /** The session ended on the Rust side (idle timeout): forget it here too. */
  function ended(reason: string) {
    session.value = null
    settings.value = null
    endedBecause.value = reason
  }

  /** The landing page for these roles. */
  const home = computed(() => {
    const r = roles.value
    if (r.includes('clerk') || r.includes('supervisor')) return '/register'
    if (r.includes('lawyer')) return '/lawyer'
    if (r.includes('mediator')) return '/mediator'
    if (r.includes('admin')) return '/staff'
    return '/login'
  })

  /** 标准, 大字 or 高对比: applied to every screen through the root element. */
  const display = computed(() => settings.value?.display ?? 'standard')
  const readerKind = computed(() => settings.value?.reader.kind ?? 'none')

  return { app, session, reference, endedBecause, settings, display, readerKind, roles, loggedIn, home, loadApp, login, restore, logout, ended, loadSettings }
})
