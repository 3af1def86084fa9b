import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// Tauri loads the built files from ui/dist; the dev server is for `tauri dev` only.
export default defineConfig({
  plugins: [vue()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: 'safari15', chunkSizeWarningLimit: 2000 },
  test: {
    environment: 'jsdom',
    include: ['**/__tests__/*.spec.ts'],
    globals: true,
    // The machine is shared with Rust builds: keep slow-but-correct runs green.
    testTimeout: 30_000,
  },
})
