/**
 * Ambiguous request paths are refused before anything else looks at them. The router decodes
 * percent-encoding, so `/%61pi/admin/users` routes to `/api/admin/users`; any check written against the
 * raw text of the URL would see something else than the route that runs. Nothing legitimate needs
 * such a spelling, so there is exactly one way to write each path the gateway serves:
 *
 * - no percent-encoded unreserved character (letters, digits, `-._~`: RFC 3986 says to write them plain),
 * - no encoded separator or dot (`%2f`, `%5c`, `%2e`), no encoded control character (`%00`–`%1f`, `%7f`),
 * - no backslash, no dot segment (`/./`, `/../`), no empty segment (`//`),
 * - an origin-form target (starts with `/`), and well-formed percent escapes,
 * - no trailing slash on an API or DICOMweb path (`/dicom-web/studies/` would otherwise reach the proxy's wildcard).
 *
 * Case variants (`/API/...`) are not refused here: the router is case-sensitive, so they match no route
 * and are answered 404 without data (the not-found handler never serves the app for them either).
 */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

export function ambiguousPathReason(rawUrl: string): string | null {
  const q = rawUrl.search(/[?#]/);
  const path = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  if (!path.startsWith('/')) return 'the request target must be a path starting with /';
  if (path.includes('\\')) return 'backslash in the path';
  for (let i = path.indexOf('%'); i >= 0; i = path.indexOf('%', i + 1)) {
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return 'malformed percent-encoding in the path';
    const code = parseInt(hex, 16);
    const ch = String.fromCharCode(code);
    if (UNRESERVED.test(ch)) return `percent-encoded unreserved character (%${hex}) in the path: write it plain`;
    if (ch === '/' || ch === '\\') return `encoded path separator (%${hex}) in the path`;
    if (code < 0x20 || code === 0x7f) return `encoded control character (%${hex}) in the path`;
  }
  if (path.includes('//')) return 'empty path segment (//)';
  if (/\/\.\.?(\/|$)/.test(path)) return 'dot segment (/. or /..) in the path';
  if (path.length > 1 && path.endsWith('/') && isApiPath(path)) return 'trailing slash in an API path';
  return null;
}

/**
 * A path in the data namespaces (`/api`, `/dicom-web`) in any letter case. Used by the not-found
 * handlers: such a miss is a 404 without data, never the app's index.html, so `/API/admin/users` and
 * `/Dicom-Web/studies` are plainly refused.
 */
export function isApiPath(rawUrl: string): boolean {
  const path = rawUrl.split(/[?#]/)[0].toLowerCase();
  return /^\/(api|dicom-web)(\/|$)/.test(path);
}
