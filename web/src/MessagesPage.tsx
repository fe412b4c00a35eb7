// The signed-in pages: the conversation list beside the open conversation (one at a time on a
// narrow screen), a header with "New message" and sign-out, and the unreachable-server banner.
import type { UserShort } from '@cruddur/client'
import { useEffect, useRef } from 'react'
import { api, useReachable } from './api'
import { Conversation } from './Conversation'
import { GroupList } from './GroupList'
import { useGroups } from './groups'
import { HandleForm } from './HandleForm'
import { NewConversation } from './NewConversation'
import { navigate, type Route } from './router'
import { signOut } from './session'
import { useLoad } from './use-load'

type MessagesRoute = Extract<Route, { page: 'messages' | 'conversation' | 'new' }>

export function MessagesPage({ route }: { route: MessagesRoute }) {
  const groups = useGroups()
  const meLoad = useLoad(() => api.users.me.query(), 'me')
  const me: UserShort | null = meLoad.state === 'ready' ? meLoad.data : null
  const reachable = useReachable()
  const dialog = useRef<HTMLDialogElement>(null)
  const activeUuid = route.page === 'conversation' ? route.uuid : undefined
  const groupList = groups.state === 'ready' ? groups.data : null

  useEffect(() => {
    document.title = route.page === 'messages' ? 'Messages · Cruddur' : 'Conversation · Cruddur'
  }, [route.page])

  return (
    <div className="app" data-view={route.page === 'messages' ? 'list' : 'conversation'}>
      {!reachable && (
        <div className="banner" role="alert">
          The server cannot be reached. Retrying…
        </div>
      )}
      <header className="top">
        <h1>Messages</h1>
        <span className="me" aria-label="Signed in as">
          {me ? `@${me.handle}` : '\u00a0'}
        </span>
        <button type="button" className="primary" onClick={() => dialog.current?.showModal()}>
          New message
        </button>
        <button
          type="button"
          onClick={() => {
            void signOut().then(() => { navigate('/sign-in', { replace: true }) })
          }}
        >
          Sign out
        </button>
      </header>
      <dialog ref={dialog} aria-label="New message" className="new-dialog">
        <HandleForm label="Who do you want to write to?" autoFocus onDone={() => dialog.current?.close()} />
        <button type="button" className="close" onClick={() => dialog.current?.close()}>
          Cancel
        </button>
      </dialog>
      <div className="panes">
        <nav className="list-pane" aria-label="Conversations">
          <GroupList groups={groups} activeUuid={activeUuid} />
        </nav>
        <main className="main-pane">
          {route.page === 'messages' && <p className="placeholder choose">Choose a conversation, or start a new one.</p>}
          {route.page === 'conversation' && (
            <Conversation key={route.uuid} uuid={route.uuid} me={me} group={groupList?.find((g) => g.uuid === route.uuid)} />
          )}
          {route.page === 'new' && <NewConversation key={route.handle} handle={route.handle} me={me} groups={groupList} />}
        </main>
      </div>
    </div>
  )
}
