// Builds the message pages into web/dist, which the server serves at / (server/routes/web.ts).
import react from '@vitejs/plugin-react'
import { defaultClientConditions, defineConfig } from 'vite'

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  // Inside this repository the packages are used from their sources (their `@cruddur/source` export);
  // an outside app gets their built dist/.
  resolve: { conditions: ['@cruddur/source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  // `vite dev` talks to a server started with `npm start`.
  server: { proxy: { '/trpc': 'http://127.0.0.1:4567', '/auth': 'http://127.0.0.1:4567', '/app-config.json': 'http://127.0.0.1:4567' } },
})
