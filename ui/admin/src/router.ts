import { createRouter, createWebHistory } from 'vue-router'
import { check, session } from './session'

export const router = createRouter({
  history: createWebHistory('/admin/'),
  routes: [
    { path: '/', redirect: '/halls' },
    { path: '/login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
    { path: '/halls', component: () => import('./views/HallsView.vue'), meta: { title: '大厅' } },
    { path: '/codes', component: () => import('./views/CodesView.vue'), meta: { title: '注册码' } },
    { path: '/devices', component: () => import('./views/DevicesView.vue'), meta: { title: '设备' } },
    { path: '/stats', component: () => import('./views/StatsView.vue'), meta: { title: '统计' } },
    { path: '/audit', component: () => import('./views/AuditView.vue'), meta: { title: '审计' } },
    { path: '/publicity', component: () => import('./views/PublicityView.vue'), meta: { title: '公开' } },
    { path: '/repeat', component: () => import('./views/RepeatView.vue'), meta: { title: '重复来访' } },
    { path: '/:rest(.*)*', redirect: '/halls' },
  ],
})

router.beforeEach(async (to) => {
  if (!session.checked) await check()
  if (!to.meta.public && !session.username) return '/login'
  if (to.path === '/login' && session.username) return '/halls'
  return true
})
