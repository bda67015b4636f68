// The console's built front-end (Vite output), read into memory at start and
// served with the security headers every console response carries.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built console of this installation: <repo>/console/dist (from coordinator/{src,dist}/console/). */
export const BUILT_ASSETS_DIR = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/**
 * Scripts, styles and connections only from this origin; no inline script or
 * style, no framing, no forms posting elsewhere.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** Vite names files under assets/ by content hash: they never change. */
  readonly immutable: boolean;
}

export class StaticAssets {
  private constructor(private readonly files: ReadonlyMap<string, Asset>) {}

  /** Reads every file of `dir`; throws naming the setting when index.html is missing. */
  static load(dir: string): StaticAssets {
    const files = new Map<string, Asset>();
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const full = join(d, name);
        if (statSync(full).isDirectory()) walk(full);
        else {
          const path = `/${relative(dir, full).split(sep).join('/')}`;
          files.set(path, { body: readFileSync(full), type: TYPES[extname(name)] ?? 'application/octet-stream', immutable: path.startsWith('/assets/') });
        }
      }
    };
    try {
      walk(dir);
    } catch (err) {
      throw new Error(`console.assetsDir: cannot read "${dir}" (${(err as Error).message}); build the console with npm run build -w console`);
    }
    if (!files.has('/index.html')) throw new Error(`console.assetsDir: no index.html in "${dir}"; build the console with npm run build -w console`);
    return new StaticAssets(files);
  }

  /** The asset at a URL path; "/" is index.html. */
  get(path: string): Asset | undefined {
    return this.files.get(path === '/' ? '/index.html' : path);
  }
}
