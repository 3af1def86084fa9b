import { createApp } from 'vue'
import 'element-plus/dist/index.css'
import App from './App.vue'
import { router } from './router'

// Element Plus components are imported on demand (vite.admin.config.ts); the zh-CN locale is
// given by <el-config-provider> in App.vue.
createApp(App).use(router).mount('#app')
