// /sign-in: the development pool's users (one click each), or the Cognito pool's own sign-in.
import { type SyntheticEvent, useEffect, useState } from 'react'
import { type AppConfig, type CognitoSettings } from './app-config'
import { navigate } from './router'
import { devSignIn, setSession } from './session'

/** What Cognito (and cognito-local, which says InvalidPasswordException) answers for bad credentials. */
const WRONG_CREDENTIALS = new Set(['NotAuthorizedException', 'UserNotFoundException', 'InvalidPasswordException'])

interface DevUser {
  handle: string
  displayName: string
}

export function SignIn({ config }: { config: AppConfig }) {
  const expired = new URLSearchParams(window.location.search).has('expired')
  return (
    <main className="sign-in">
      <h1>Cruddur Messages</h1>
      {expired && (
        <p className="notice" role="alert">
          Your session ended. Sign in again.
        </p>
      )}
      {config.signIn === 'dev' ? <DevSignIn /> : <CognitoSignIn cognito={config.cognito} />}
    </main>
  )
}

function DevSignIn() {
  const [users, setUsers] = useState<DevUser[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    fetch('/auth/dev/users')
      .then(async (res) => {
        if (!res.ok) throw new Error(String(res.status))
        setUsers(((await res.json()) as { users: DevUser[] }).users)
      })
      .catch(() => { setError('The users could not be listed. Is the server running?') })
  }, [])
  const signIn = (handle: string) => {
    setError(null)
    devSignIn(handle).then(
      (session) => {
        setSession(session)
        navigate('/messages', { replace: true })
      },
      () => { setError(`Could not sign in as @${handle}.`) },
    )
  }
  return (
    <section aria-labelledby="dev-title">
      <h2 id="dev-title">Sign in (development)</h2>
      <p className="hint">The local development pool: choose a seeded user.</p>
      {error && <p role="alert" className="error">{error}</p>}
      {!users && !error && <p role="status">Loading users…</p>}
      {users && (
        <ul className="dev-users">
          {users.map((u) => (
            <li key={u.handle}>
              <button type="button" onClick={() => { signIn(u.handle) }}>
                <span className="name">{u.displayName}</span> <span className="handle">@{u.handle}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

function CognitoSignIn({ cognito }: { cognito: CognitoSettings }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const submit = (e: SyntheticEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    import('./cognito')
      .then(({ signInWithPassword }) => signInWithPassword(cognito, username.trim(), password))
      .then(
        (session) => {
          setSession(session)
          navigate('/messages', { replace: true })
        },
        (err: unknown) => {
          const name = (err as { name?: string }).name
          setError(name && WRONG_CREDENTIALS.has(name) ? 'Wrong username or password.' : 'Could not sign in. Try again.')
        },
      )
      .finally(() => { setBusy(false) })
  }
  return (
    <form className="cognito" onSubmit={submit} aria-labelledby="cognito-title">
      <h2 id="cognito-title">Sign in</h2>
      {error && <p role="alert" className="error">{error}</p>}
      <label>
        Username or email
        <input value={username} onChange={(e) => { setUsername(e.target.value) }} autoComplete="username" required />
      </label>
      <label>
        Password
        <input type="password" value={password} onChange={(e) => { setPassword(e.target.value) }} autoComplete="current-password" required />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  )
}
