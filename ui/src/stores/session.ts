import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { api } from '../api'
import type { AppInfo } from '../api/bindings/AppInfo'
import type { ReferenceLists } from '../api/bindings/ReferenceLists'
import type { SessionInfo } from '../api/bindings/SessionInfo'

/** Who is logged in, the lists the forms choose from, and why the last session ended. */
export const useSessionStore = defineStore('session', () => {
  const app = ref<AppInfo | null>(null)
  const session = ref<SessionInfo | null>(null)
  const reference = ref<ReferenceLists | null>(null)
  const endedBecause = ref('')

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
  }

  async function restore() {
    session.value = await api.session()
    if (session.value && !reference.value) reference.value = await api.reference()
  }

  async function logout(reason = '') {
    endedBecause.value = reason
    session.value = null
    await api.logout().catch(() => undefined)
  }

  /** The session ended on the Rust side (idle timeout): forget it here too. */
  function ended(reason: string) {
    session.value = null
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

  return { app, session, reference, endedBecause, roles, loggedIn, home, loadApp, login, restore, logout, ended }
})
