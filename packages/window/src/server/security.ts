import { randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/**
 * The headers of every answer: a strict policy with no inline script or style, nothing from
 * another host, no framing, no sniffing, no referrer and no caching.
 */
export const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/** A new window token: 32 random bytes, base64url (43 characters). */
export function newWindowToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The cookie that holds the token. Its name carries the port: cookies ignore ports, so two
 * windows on 127.0.0.1 (a sender's and a receiver's in one browser) must not share a name.
 */
export function cookieName(port: number): string {
  return `ferry-window-${port}`;
}

/** The `Set-Cookie` value that keeps the token in the browser, out of reach of script. */
export function tokenCookie(port: number, token: string): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

/** Whether `host` (the Host header as sent) names this window exactly: DNS rebinding fails here. */
export function isOwnHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** Whether `origin` is the window's own, for a request that came with `host` (already checked). */
export function isOwnOrigin(origin: string | undefined, host: string): boolean {
  return origin === `http://${host}`;
}

/** Constant-time comparison of a presented token with the window's. */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a request, or undefined. */
export function readCookie(request: http.IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
