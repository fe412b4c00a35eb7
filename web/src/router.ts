// The few client-side routes of the message pages, on the History API (four paths need no library).
import { type AnchorHTMLAttributes, createElement, type MouseEvent, useSyncExternalStore } from 'react'

const NAVIGATED = 'cruddur:navigate'

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange)
  window.addEventListener(NAVIGATED, onChange)
  return () => {
    window.removeEventListener('popstate', onChange)
    window.removeEventListener(NAVIGATED, onChange)
  }
}

const currentPath = () => window.location.pathname

export function usePath(): string {
  return useSyncExternalStore(subscribe, currentPath)
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return
  if (options.replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  window.dispatchEvent(new Event(NAVIGATED))
}

export type Route =
  | { page: 'sign-in' }
  | { page: 'messages' }
  | { page: 'conversation'; uuid: string }
  | { page: 'new'; handle: string }
  | { page: 'home' }
  | { page: 'not-found' }

export function routeOf(path: string): Route {
  const p = path.replace(/\/+$/, '') || '/'
  if (p === '/') return { page: 'home' }
  if (p === '/sign-in') return { page: 'sign-in' }
  if (p === '/messages') return { page: 'messages' }
  const fresh = /^\/messages\/new\/([^/]+)$/.exec(p)
  if (fresh) return { page: 'new', handle: decodeURIComponent(fresh[1]!) }
  const conversation = /^\/messages\/([^/]+)$/.exec(p)
  if (conversation) return { page: 'conversation', uuid: decodeURIComponent(conversation[1]!) }
  return { page: 'not-found' }
}

/** An anchor that navigates without a reload (a modified click still opens a new tab). */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    props.onClick?.(e)
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    e.preventDefault()
    navigate(props.href)
  }
  return createElement('a', { ...props, onClick })
}
