/**
 * Zod compiles fast object parsers with `new Function`, after probing whether eval is allowed. The
 * gateway's Content-Security-Policy forbids eval (script-src has no 'unsafe-eval'), so in the browser
 * the probe only raises a CSP violation report before zod falls back. Jitless mode skips the probe:
 * imported first by the app's entry, before any schema parses.
 */
import { z } from 'zod';

z.config({ jitless: true });
