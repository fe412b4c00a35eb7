// /messages/new/:handle: looks the person up, says so when there is no such user, and sends the first
// message by handle (which starts the pair's one conversation, or continues it).
import { handleKey } from './handle'
import type { MessageGroup, UserShort } from '@cruddur/client'
import { useEffect, useState } from 'react'
import { api, reportFailure, reportSuccess } from './api'
import { Composer } from './Composer'
import { ConversationHeader, type Pending, PendingItem } from './Conversation'
import { HandleForm } from './HandleForm'
import { navigate } from './router'
import { useLoad } from './use-load'
import { newUuid } from './uuid'

export function NewConversation({ handle, me, groups }: { handle: string; me: UserShort | null; groups: MessageGroup[] | null }) {
  const user = useLoad(() => api.users.short.query({ handle }), handle)
  const [pending, setPending] = useState<Pending | null>(null)
  const existing = groups?.find((g) => handleKey(g.handle) === handleKey(handle))

  // The pair already talk: continue there.
  useEffect(() => {
    if (existing) navigate(`/messages/${existing.uuid}`, { replace: true })
  }, [existing])

  const send = (text: string, clientMessageId: string = newUuid()) => {
    setPending({ clientMessageId, text, status: 'pending' })
    api.messages.create.mutate({ message: text, handle, clientMessageId }).then(
      (out) => {
        reportSuccess()
        navigate(`/messages/${out.messageGroupUuid}`, { replace: true })
      },
      (err: unknown) => { setPending({ clientMessageId, text, status: 'failed', failure: reportFailure(err) }) },
    )
  }

  if (user.state === 'loading') {
    return (
      <section className="conversation" aria-label="New conversation">
        <ConversationHeader title={`@${handle}`} />
        <p className="placeholder" role="status">Looking up @{handle}…</p>
      </section>
    )
  }
  if (user.state === 'failed') {
    const why =
      user.failure === 'not-found' || user.failure === 'bad-request'
        ? `There is no user @${handle}.`
        : `@${handle} could not be looked up. Try again later.`
    return (
      <section className="conversation" aria-label="New conversation">
        <ConversationHeader title="New message" />
        <div className="notice">
          <p role="alert">{why}</p>
          <HandleForm label="Try another handle" />
        </div>
      </section>
    )
  }
  const other = user.data
  if (me && other.uuid === me.uuid) {
    return (
      <section className="conversation" aria-label="New conversation">
        <ConversationHeader title="New message" />
        <div className="notice">
          <p role="alert">That is you. Choose someone else to write to.</p>
          <HandleForm label="Handle" />
        </div>
      </section>
    )
  }
  return (
    <section className="conversation" aria-label={`New conversation with ${other.displayName}`}>
      <ConversationHeader title={other.displayName} handle={other.handle} />
      <div className="messages">
        {!pending && <p className="placeholder">Say hello to {other.displayName}.</p>}
        <ol className="message-list">
          {pending && <PendingItem pending={pending} onRetry={() => { send(pending.text, pending.clientMessageId) }} />}
        </ol>
      </div>
      <Composer label={`Message to ${other.displayName}`} onSend={(text) => { send(text) }} />
    </section>
  )
}
