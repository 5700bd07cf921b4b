// Builds the admin console into console/dist, served by the server under /console
// (src/http/console-static.ts). Run by `npm install` (the `prepare` script) and `npm run build:console`.
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1000 },
  logLevel: 'warn',
})
