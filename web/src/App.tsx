// Which page the path shows; without a session every page but sign-in sends there.
import { useEffect, useState } from 'react'
import { type AppConfig, appConfig } from './app-config'
import { MessagesPage } from './MessagesPage'
import { Link, navigate, routeOf, usePath } from './router'
import { useConfigForRenewal, useSession } from './session'
import { SignIn } from './SignIn'

export function App() {
  const path = usePath()
  const session = useSession()
  const route = routeOf(path)
  const [config, setConfig] = useState<AppConfig | null>(null)
  const [configFailed, setConfigFailed] = useState(false)

  useEffect(() => {
    let stop = false
    const load = (delay: number) =>
      appConfig().then(
        (c) => {
          if (stop) return
          setConfig(c)
          setConfigFailed(false)
          useConfigForRenewal(c)
        },
        () => {
          if (stop) return
          setConfigFailed(true)
          setTimeout(() => void load(Math.min(delay * 2, 10_000)), delay)
        },
      )
    void load(1_000)
    return () => {
      stop = true
    }
  }, [])

  const needsSignIn = !session && route.page !== 'sign-in'
  useEffect(() => {
    if (needsSignIn) navigate('/sign-in', { replace: true })
    else if (route.page === 'home') navigate('/messages', { replace: true })
  }, [needsSignIn, route.page])

  if (route.page === 'sign-in') {
    if (configFailed) return <div className="banner" role="alert">The server cannot be reached. Retrying…</div>
    return config ? <SignIn config={config} /> : <p className="placeholder" role="status">Loading…</p>
  }
  if (needsSignIn || route.page === 'home') return null
  if (route.page === 'not-found') {
    return (
      <main className="sign-in">
        <h1>Page not found</h1>
        <p>
          <Link href="/messages">Go to your messages</Link>
        </p>
      </main>
    )
  }
  return <MessagesPage route={route} />
}
