import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// The city administrator's web console (ui/admin): built to ui/dist-admin, which the city
// server embeds and serves at /admin (crates/xinfang-city/src/console.rs). Same stack and
// packages as the desk's front end (vite.config.ts).
export default defineConfig({
  root: 'admin',
  base: '/admin/',
  plugins: [vue(), Components({ resolvers: [ElementPlusResolver({ importStyle: false })], dts: false })],
  clearScreen: false,
  build: { outDir: '../dist-admin', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  server: { port: 5174, strictPort: true, proxy: { '/v1': 'http://127.0.0.1:8750', '/admin/api': 'http://127.0.0.1:8750' } },
})
