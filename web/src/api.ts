// The page's one client of the API (@cruddur/client, as any outside app uses it), and how its
// failures are told apart: signed out, missing, unreachable (the banner; retried), or other.
import { createClient, isClientError } from '@cruddur/client'
import { useSyncExternalStore } from 'react'
import { navigate } from './router'
import { accessToken, setSession } from './session'

export const api = createClient({ url: window.location.origin, token: accessToken, attempts: 3 })

export type Failure = 'unauthorized' | 'not-found' | 'bad-request' | 'unreachable' | 'other'

export function failureOf(err: unknown): Failure {
  if (!isClientError(err)) return err instanceof TypeError ? 'unreachable' : 'other'
  const code = err.data?.code
  if (code === undefined) return 'unreachable'
  if (code === 'UNAUTHORIZED') return 'unauthorized'
  if (code === 'NOT_FOUND') return 'not-found'
  if (code === 'BAD_REQUEST') return 'bad-request'
  if (code === 'SERVICE_UNAVAILABLE' || code === 'BAD_GATEWAY' || code === 'GATEWAY_TIMEOUT') return 'unreachable'
  return 'other'
}

// Whether the server answers: the banner shows while the last call found it unreachable.
let reachable = true
const listeners = new Set<() => void>()
let probe: ReturnType<typeof setTimeout> | undefined
const PROBE_MS = 2_000

function setReachable(value: boolean): void {
  if (reachable === value) return
  reachable = value
  for (const l of listeners) l()
  if (!value) scheduleProbe()
}

/** While unreachable, asks the server's liveness every few seconds, so the banner goes by itself. */
function scheduleProbe(): void {
  clearTimeout(probe)
  probe = setTimeout(() => {
    fetch('/health', { cache: 'no-store' }).then(
      (res) => {
        if (res.ok) setReachable(true)
        else scheduleProbe()
      },
      () => {
        scheduleProbe()
      },
    )
  }, PROBE_MS)
}

export function useReachable(): boolean {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    () => reachable,
  )
}

export function reportSuccess(): void {
  setReachable(true)
}

/** Notes what a failure means for the whole page: a 401 ends the session, no answer shows the banner. */
export function reportFailure(err: unknown): Failure {
  const failure = failureOf(err)
  if (failure === 'unreachable') setReachable(false)
  if (failure === 'unauthorized') {
    setSession(null)
    navigate('/sign-in?expired=1', { replace: true })
  }
  return failure
}
