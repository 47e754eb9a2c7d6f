// Photos on the device: resized to ≤ 2048 px on the long side as JPEG, SHA-256 computed here
// (crypto.subtle), capture time and GPS kept as fields; stored as blobs in IndexedDB.
export const MAX_SIDE = 2048;
export const JPEG_QUALITY = 0.85;

export async function sha256Hex(blob) {
  const buf = await blob.arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function decode(file) {
  if (typeof createImageBitmap === 'function') {
    try { return await createImageBitmap(file, { imageOrientation: 'from-image' }); } catch { /* fall back */ }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Return a JPEG blob of `file` whose long side is at most MAX_SIDE, with its width and height. */
export async function resizeToJpeg(file) {
  const src = await decode(file);
  const w0 = src.width, h0 = src.height;
  const scale = Math.min(1, MAX_SIDE / Math.max(w0, h0));
  const w = Math.max(1, Math.round(w0 * scale)), h = Math.max(1, Math.round(h0 * scale));
  let blob;
  if (typeof OffscreenCanvas === 'function') {
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, w, h);
    ctx.drawImage(src, 0, 0, w, h);
    blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: JPEG_QUALITY });
  } else {
    const canvas = document.createElement('canvas');
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, w, h);
    ctx.drawImage(src, 0, 0, w, h);
    blob = await new Promise((ok) => canvas.toBlob(ok, 'image/jpeg', JPEG_QUALITY));
  }
  src.close?.();
  return { blob, width: w, height: h };
}

/** The current position, or {error} when refused/unavailable. Never blocks longer than `timeout`. */
export function currentPosition(timeout = 8000) {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve({ error: 'unavailable' }); return; }
    const timer = setTimeout(() => resolve({ error: 'timeout' }), timeout + 500);
    navigator.geolocation.getCurrentPosition(
      (p) => { clearTimeout(timer); resolve({ lat: p.coords.latitude, lng: p.coords.longitude, accuracy_m: p.coords.accuracy,
        at: new Date(p.timestamp).toISOString() }); },
      (e) => { clearTimeout(timer); resolve({ error: e.code === 1 ? 'permission_denied' : e.code === 3 ? 'timeout' : 'unavailable' }); },
      { enableHighAccuracy: true, timeout, maximumAge: 60_000 },
    );
  });
}

/** Turn a picked file into a photo record ready for db.putPhoto. */
export async function processPhoto(file, { visitId, gps } = {}) {
  const capturedAt = new Date().toISOString();
  const { blob, width, height } = await resizeToJpeg(file);
  const sha256 = await sha256Hex(blob);
  return { sha256, blob, type: 'image/jpeg', size: blob.size, width, height, captured_at: capturedAt,
    file_modified_at: file.lastModified ? new Date(file.lastModified).toISOString() : null,
    original_size: file.size, gps: gps || null, visit_id: visitId };
}
