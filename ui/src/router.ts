import { createRouter, createWebHashHistory } from 'vue-router'
import { useSessionStore } from './stores/session'

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: () => useSessionStore().home },
    { path: '/setup', component: () => import('./views/SetupView.vue'), meta: { public: true } },
    { path: '/login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
    { path: '/register', component: () => import('./views/RegisterView.vue') },
    { path: '/today', component: () => import('./views/TodayView.vue') },
    { path: '/lawyer', component: () => import('./views/LawyerView.vue') },
    { path: '/mediator', component: () => import('./views/MediatorView.vue') },
    { path: '/visitor/:id', component: () => import('./views/VisitorView.vue'), props: true },
    { path: '/staff', component: () => import('./views/StaffView.vue') },
    { path: '/stats', component: () => import('./views/StatsView.vue') },
    { path: '/publicity', component: () => import('./views/PublicityView.vue') },
    { path: '/matters', component: () => import('./views/MatterLookup.vue') },
    { path: '/matter/:id', component: () => import('./views/MatterPage.vue'), props: true },
    { path: '/matter/of-visit/:visitId', component: () => import('./views/MatterPage.vue'), props: true },
    { path: '/due', component: () => import('./views/DueView.vue') },
    { path: '/backlog', component: () => import('./views/BacklogView.vue') },
    { path: '/audit', component: () => import('./views/AuditView.vue') },
    { path: '/conflicts', component: () => import('./views/ConflictsView.vue') },
    { path: '/people', component: () => import('./views/PeopleView.vue') },
    { path: '/backup', component: () => import('./views/BackupView.vue') },
    { path: '/settings', component: () => import('./views/SettingsView.vue') },
    { path: '/print/opinion/:id', component: () => import('./views/PrintOpinion.vue'), props: true, meta: { bare: true } },
  ],
})

router.beforeEach(async (to) => {
  const s = useSessionStore()
  if (!s.app) {
    const app = await s.loadApp()
    if (!app.initialised) return to.path === '/setup' ? true : '/setup'
    await s.restore().catch(() => undefined)
  }
  if (s.app && !s.app.initialised && to.path !== '/setup') return '/setup'
  if (!to.meta.public && !s.loggedIn) return '/login'
  if (to.path === '/login' && s.loggedIn) return s.home
  return true
})
