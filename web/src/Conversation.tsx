// One conversation: the latest page, older pages as you scroll up, new messages live, and sending
// with a pending → sent state; a failed send is retried with the same clientMessageId (stored once).
import type { Message, MessageGroup, UserShort } from '@cruddur/client'
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react'
import { api, type Failure, reportFailure, reportSuccess } from './api'
import { Composer } from './Composer'
import { Link } from './router'
import { fullTime, relativeTime } from './time'
import { useLoad } from './use-load'
import { useNow } from './use-now'
import { newUuid } from './uuid'

export const PAGE_SIZE = 20
/** How close to an edge (px) counts as being there. */
const EDGE = 48

interface Pending {
  clientMessageId: string
  text: string
  status: 'pending' | 'failed'
  failure?: Failure
}

/** Older and newer messages together, each once, in the server's order. */
function merge(before: Message[], after: Message[]): Message[] {
  const seen = new Set(before.map((m) => m.uuid))
  return [...before, ...after.filter((m) => !seen.has(m.uuid))]
}

export function Conversation({ uuid, me, group }: { uuid: string; me: UserShort | null; group: MessageGroup | undefined }) {
  const now = useNow()
  const [messages, setMessages] = useState<Message[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [pending, setPending] = useState<Pending[]>([])
  const [loadingOlder, setLoadingOlder] = useState(false)
  const [gone, setGone] = useState(false)
  const scroller = useRef<HTMLDivElement>(null)
  const atBottom = useRef(true)
  const heightBeforePrepend = useRef<number | null>(null)
  const olderInFlight = useRef(false)
  const meRef = useRef(me)
  meRef.current = me

  const first = useLoad(() => api.messages.list.query({ messageGroupUuid: uuid, limit: PAGE_SIZE }), uuid)
  useEffect(() => {
    if (first.state === 'failed' && first.failure === 'not-found') setGone(true)
    if (first.state !== 'ready') return
    setMessages((live) => merge(first.data.items, live))
    setCursor(first.data.nextCursor)
  }, [first])

  // Live: subscribed alongside the first read; whatever arrives in between is merged by uuid.
  useEffect(() => {
    const sub = api.messages.onCreated.subscribe(
      { messageGroupUuid: uuid },
      {
        onStarted: () => { reportSuccess() },
        onData: ({ data }) => {
          reportSuccess()
          setMessages((ms) => (ms.some((m) => m.uuid === data.uuid) ? ms : [...ms, data]))
          // Our own message, announced before its create answered: it is no longer pending.
          if (data.handle === meRef.current?.handle) {
            setPending((ps) => {
              const i = ps.findIndex((p) => p.status === 'pending' && p.text === data.message)
              return i < 0 ? ps : [...ps.slice(0, i), ...ps.slice(i + 1)]
            })
          }
        },
        onError: (err) => {
          if (reportFailure(err) === 'not-found') setGone(true)
        },
      },
    )
    return () => { sub.unsubscribe() }
  }, [uuid])

  const loadOlder = useCallback(() => {
    if (!cursor || olderInFlight.current) return
    olderInFlight.current = true
    setLoadingOlder(true)
    api.messages.list.query({ messageGroupUuid: uuid, limit: PAGE_SIZE, cursor }).then(
      (page) => {
        reportSuccess()
        heightBeforePrepend.current = scroller.current?.scrollHeight ?? null
        setMessages((ms) => merge(page.items, ms))
        setCursor(page.nextCursor)
      },
      (err: unknown) => reportFailure(err),
    ).finally(() => {
      olderInFlight.current = false
      setLoadingOlder(false)
    })
  }, [cursor, uuid])

  // Keep the reader where they were: at the bottom when they were there, on the same message when
  // older ones were put above it.
  useLayoutEffect(() => {
    const el = scroller.current
    if (!el) return
    if (heightBeforePrepend.current !== null) {
      el.scrollTop += el.scrollHeight - heightBeforePrepend.current
      heightBeforePrepend.current = null
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight
    }
    // A first page too short to scroll: fetch older ones until it can.
    if (el.scrollHeight <= el.clientHeight + EDGE && cursor) loadOlder()
  }, [messages, pending, cursor, loadOlder])

  const onScroll = () => {
    const el = scroller.current
    if (!el) return
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < EDGE
    if (el.scrollTop < EDGE * 2) loadOlder()
  }

  const send = (text: string, clientMessageId: string = newUuid()) => {
    atBottom.current = true
    setPending((ps) =>
      ps.some((p) => p.clientMessageId === clientMessageId)
        ? ps.map((p) => (p.clientMessageId === clientMessageId ? { clientMessageId, text, status: 'pending' } : p))
        : [...ps, { clientMessageId, text, status: 'pending' }],
    )
    api.messages.create.mutate({ message: text, messageGroupUuid: uuid, clientMessageId }).then(
      (out) => {
        reportSuccess()
        setPending((ps) => ps.filter((p) => p.clientMessageId !== clientMessageId))
        setMessages((ms) => (ms.some((m) => m.uuid === out.message.uuid) ? ms : [...ms, out.message]))
      },
      (err: unknown) => {
        const failure = reportFailure(err)
        setPending((ps) => ps.map((p) => (p.clientMessageId === clientMessageId ? { ...p, status: 'failed', failure } : p)))
      },
    )
  }

  const other = group ?? messages.find((m) => m.handle !== me?.handle)
  const title = other ? other.displayName : 'Conversation'

  if (gone) {
    return (
      <section className="conversation" aria-label="Conversation">
        <ConversationHeader title="Conversation not found" />
        <p className="placeholder" role="alert">
          This conversation does not exist, or you are not in it.
        </p>
      </section>
    )
  }

  return (
    <section className="conversation" aria-label={`Conversation with ${title}`}>
      <ConversationHeader title={title} handle={other?.handle} />
      <div className="messages" ref={scroller} onScroll={onScroll} tabIndex={0} aria-label="Messages">
        {first.state === 'loading' && <p className="placeholder" role="status">Loading messages…</p>}
        {first.state === 'failed' && <p className="placeholder" role="alert">The messages could not be loaded.</p>}
        {cursor && (
          <button type="button" className="older" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
          </button>
        )}
        {first.state === 'ready' && messages.length === 0 && pending.length === 0 && <p className="placeholder">No messages yet.</p>}
        <ol className="message-list" aria-live="polite" aria-relevant="additions">
          {messages.map((m) => (
            <MessageItem key={m.uuid} mine={m.handle === me?.handle} message={m} now={now} />
          ))}
          {pending.map((p) => (
            <PendingItem key={p.clientMessageId} pending={p} onRetry={() => { send(p.text, p.clientMessageId) }} />
          ))}
        </ol>
      </div>
      <Composer label={`Message to ${title}`} onSend={(text) => { send(text) }} />
    </section>
  )
}

export function ConversationHeader({ title, handle }: { title: string; handle?: string | undefined }) {
  return (
    <header className="conversation-head">
      <Link href="/messages" className="back" aria-label="Back to conversations">
        ←
      </Link>
      <h2>
        {title} {handle && <span className="handle">@{handle}</span>}
      </h2>
    </header>
  )
}

function MessageItem({ message, mine, now }: { message: Message; mine: boolean; now: number }) {
  return (
    <li className={mine ? 'msg mine' : 'msg'} data-status="sent" data-uuid={message.uuid}>
      <p className="bubble">{message.message}</p>
      <p className="meta">
        {!mine && <span className="sender">{message.displayName} · </span>}
        <time dateTime={message.createdAt} title={fullTime(message.createdAt)}>
          {relativeTime(message.createdAt, now)}
        </time>
        {mine && <span className="status"> · Sent</span>}
      </p>
    </li>
  )
}

export function PendingItem({ pending, onRetry }: { pending: Pending; onRetry: () => void }) {
  const failed = pending.status === 'failed'
  return (
    <li className={failed ? 'msg mine failed' : 'msg mine pending'} data-status={pending.status}>
      <p className="bubble">{pending.text}</p>
      <p className="meta">
        {failed ? (
          <>
            <span className="status" role="alert">
              {pending.failure === 'unreachable' ? 'Not sent: the server could not be reached.' : 'Not sent.'}
            </span>{' '}
            <button type="button" className="retry" onClick={onRetry}>
              Retry
            </button>
          </>
        ) : (
          <span className="status">Sending…</span>
        )}
      </p>
    </li>
  )
}

export type { Pending }
