import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// Tauri loads the built files from ui/dist; the dev server is for `tauri dev` only.
export default defineConfig({
  plugins: [
    vue(),
    // Element Plus components are imported where a template uses them, so the login form does
    // not wait for the whole library to be parsed (start-up budget, docs/performance.md). The
    // stylesheet stays global (main.ts): one file, no flash of unstyled components.
    Components({ resolvers: [ElementPlusResolver({ importStyle: false })], dts: false }),
  ],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: 'safari15', chunkSizeWarningLimit: 2000 },
  test: {
    environment: 'jsdom',
    include: ['**/__tests__/*.spec.ts'],
    globals: true,
    // A fake clock in every test: no test waits real time.
    setupFiles: ['src/__tests__/fakeClock.ts'],
    // The machine is shared with Rust builds: keep slow-but-correct runs green.
    testTimeout: 30_000,
  },
})
