// The service worker: a precached, versioned app shell. It never takes over open tabs by itself:
// a new version waits until the page asks it to (the user accepted "有新版本", and no form is open).
// API calls are not intercepted (never cached as evidence). Background Sync only *triggers* our
// own outbox (IndexedDB); it never holds anything.
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { setCacheNameDetails } from 'workbox-core';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { runSync } from './outbox.js';

const VERSION = __APP_VERSION__;
const PREFIX = 'spotcheck-app';
setCacheNameDetails({ prefix: PREFIX, suffix: VERSION, precache: 'shell', runtime: 'runtime' });

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
// any /app/… navigation (deep links, a reload offline) gets the shell; /api is never routed here
registerRoute(new NavigationRoute(createHandlerBoundToURL('/app/index.html'), {
  allowlist: [/^\/app(\/|$)/],
}));

self.addEventListener('activate', (event) => {
  // remove the caches of every older version of the shell
  event.waitUntil((async () => {
    const keep = `${PREFIX}-shell-${VERSION}`;
    for (const name of await caches.keys()) {
      if (name.startsWith(`${PREFIX}-`) && name !== keep) await caches.delete(name);
    }
    await self.clients.claim(); // only matters for the very first install (no tab had a worker)
  })());
});

self.addEventListener('message', (event) => {
  const msg = event.data || {};
  if (msg.type === 'SKIP_WAITING') self.skipWaiting(); // sent only after the user accepted
  if (msg.type === 'GET_VERSION') event.ports[0]?.postMessage({ version: VERSION });
});

self.addEventListener('sync', (event) => {
  if (event.tag === 'outbox') event.waitUntil(runSync());
});

self.addEventListener('periodicsync', (event) => {
  if (event.tag === 'outbox') event.waitUntil(runSync());
});
