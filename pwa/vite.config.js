// Build of the field app: plain ES modules bundled by Vite, a hand-written service worker
// (src/sw.js) into which vite-plugin-pwa injects the precache manifest (injectManifest).
// Output: dist/ (served by Flask at /app/, see server/fieldapp).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url)));
// The version shown in the app and baked into the service worker's cache names. An explicit
// APP_VERSION wins (CI, tests); otherwise package version + a hash of the sources, so a rebuild
// of unchanged sources yields the very same sw.js (no spurious "update available").
function sourceHash() {
  const h = createHash('sha256');
  for (const f of ['index.html', 'src/app.js', 'src/db.js', 'src/outbox.js', 'src/api.js', 'src/sw.js',
    'src/photos.js', 'src/i18n.js', 'src/i18n-en.js', 'src/form.js', 'src/dom.js', 'src/domain.js', 'src/schedule.js',
    'src/style.css']) {
    try { h.update(readFileSync(new URL(`./${f}`, import.meta.url))); } catch { /* optional file */ }
  }
  return h.digest('hex').slice(0, 8);
}
const version = process.env.APP_VERSION || `${pkg.version}+${sourceHash()}`;

export default defineConfig({
  base: '/app/',
  define: { __APP_VERSION__: JSON.stringify(version) },
  build: { target: 'es2020', sourcemap: false, assetsInlineLimit: 0, modulePreload: { polyfill: false } },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.js',
      injectRegister: false, // registered by src/app.js, which also drives the update prompt
      registerType: 'prompt',
      includeAssets: ['icons/*.png'],
      manifest: {
        id: '/app/',
        name: '双随机抽查 · 现场检查',
        short_name: '现场检查',
        description: '双随机、一公开联合抽查的现场检查记录（离线可用）',
        lang: 'zh-CN',
        start_url: '/app/',
        scope: '/app/',
        display: 'standalone',
        orientation: 'portrait',
        background_color: '#ffffff',
        theme_color: '#0b3d91',
        icons: [
          { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: 'icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,png,webmanifest}'],
        rollupFormat: 'iife', // a classic worker: Safari and older Chrome take it
        buildPlugins: { vite: [{ name: 'app-version', config: () => ({ define: { __APP_VERSION__: JSON.stringify(version) } }) }] },
      },
    }),
  ],
});
