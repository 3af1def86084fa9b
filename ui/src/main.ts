import { createApp } from 'vue'
import { createPinia } from 'pinia'
import 'element-plus/dist/index.css'
import './style.css'
import App from './App.vue'
import { router } from './router'

// Element Plus components are imported on demand (vite.config.ts); the zh-CN locale is given
// by <el-config-provider> in App.vue.
createApp(App).use(createPinia()).use(router).mount('#app')
