// The signed-in person's tokens, kept in localStorage so a reload stays signed in. The access token
// is renewed shortly before it expires: by the development endpoint, or by Cognito's refresh token
// (cognito.ts, loaded only when Cognito is the sign-in).
import { useSyncExternalStore } from 'react'
import type { AppConfig } from './app-config'

export interface Session {
  kind: 'dev' | 'cognito'
  handle: string
  accessToken: string
  /** Milliseconds since the epoch. */
  expiresAt: number
  refreshToken?: string
}

const KEY = 'cruddur.session'
/** Renew this long before expiry, so no request leaves with a token about to die. */
const RENEW_BEFORE_MS = 60_000

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY)
    return raw ? (JSON.parse(raw) as Session) : null
  } catch {
    return null
  }
}

let current: Session | null = load()
const listeners = new Set<() => void>()

export function getSession(): Session | null {
  return current
}

export function setSession(session: Session | null): void {
  current = session
  if (session) localStorage.setItem(KEY, JSON.stringify(session))
  else localStorage.removeItem(KEY)
  scheduleRenewal()
  for (const l of listeners) l()
}

export function useSession(): Session | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    getSession,
  )
}

// Another tab signing in or out counts here too.
window.addEventListener('storage', (e) => {
  if (e.key !== KEY) return
  current = load()
  scheduleRenewal()
  for (const l of listeners) l()
})

let config: AppConfig | undefined
let renewing: Promise<string | null> | undefined
let timer: ReturnType<typeof setTimeout> | undefined

export function useConfigForRenewal(c: AppConfig): void {
  config = c
  scheduleRenewal()
}

function scheduleRenewal(): void {
  clearTimeout(timer)
  if (!current || !config) return
  const due = current.expiresAt - RENEW_BEFORE_MS - Date.now()
  timer = setTimeout(() => void renew(), Math.max(0, Math.min(due, 2 ** 31 - 1)))
}

async function renewOnce(session: Session, c: AppConfig): Promise<Session> {
  if (session.kind === 'cognito' && c.signIn === 'cognito') {
    const { refreshSession } = await import('./cognito')
    return refreshSession(c.cognito, session)
  }
  return devSignIn(session.handle)
}

/** Renews the access token; on a refusal the session ends (the page goes to sign-in). */
function renew(): Promise<string | null> {
  const session = current
  const c = config
  if (!session || !c) return Promise.resolve(session?.accessToken ?? null)
  renewing ??= renewOnce(session, c)
    .then((next) => {
      if (current === session) setSession(next)
      return next.accessToken
    })
    .catch((err: unknown) => {
      // Unreachable: keep the token (still valid for a while) and try again soon.
      if (err instanceof TypeError) {
        timer = setTimeout(() => void renew(), 5_000)
        return session.accessToken
      }
      if (current === session) setSession(null)
      return null
    })
    .finally(() => (renewing = undefined))
  return renewing
}

/** The token for the next request (the client calls this for every request and reconnect). */
export async function accessToken(): Promise<string | null> {
  const session = current
  if (!session) return null
  if (session.expiresAt - Date.now() > RENEW_BEFORE_MS / 2) return session.accessToken
  return renew()
}

export async function devSignIn(handle: string): Promise<Session> {
  const res = await fetch('/auth/dev/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ handle }),
  })
  if (!res.ok) throw new Error(`sign-in refused (${res.status})`)
  const body = (await res.json()) as { accessToken: string; expiresIn: number; handle: string }
  return { kind: 'dev', handle: body.handle, accessToken: body.accessToken, expiresAt: Date.now() + body.expiresIn * 1000 }
}

export async function signOut(): Promise<void> {
  const session = current
  setSession(null)
  if (session?.kind === 'cognito' && config?.signIn === 'cognito') {
    const { revokeSession } = await import('./cognito')
    await revokeSession(config.cognito, session).catch(() => undefined)
  }
}
