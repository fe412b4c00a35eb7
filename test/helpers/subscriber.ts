// A subscriber as an app runs one: @cruddur/client over SSE (the `eventsource` package, as Node 20
// has no EventSource), collecting what arrives so a test can wait for it and check it.
import { EventSource } from 'eventsource'
import type { Message, MessageGroup } from '@cruddur/contracts'
import { type Client, createClient, type TokenSource } from '../../client/src/index.js'

export interface Collected<T> {
  events: { id: string; data: T }[]
  errors: { code: string | undefined; message: string }[]
  /** Resolves once `predicate` holds (checked on every event), or rejects after `ms`. */
  until(predicate: (events: { id: string; data: T }[]) => boolean, ms?: number, label?: string): Promise<void>
  stop(): void
}

export function subscriberClient(url: string, token: TokenSource): Client {
  return createClient({ url, token, EventSource })
}

function collector<T>(): Collected<T> & { push(id: string, data: T): void; fail(err: unknown): void; setStop(stop: () => void): void } {
  const events: { id: string; data: T }[] = []
  const errors: { code: string | undefined; message: string }[] = []
  const waiters = new Set<() => void>()
  let stop = () => {}
  return {
    events,
    errors,
    push(id, data) {
      events.push({ id, data })
      for (const w of waiters) w()
    },
    fail(err) {
      const e = err as { data?: { code?: string } | null; message?: string }
      errors.push({ code: e.data?.code ?? undefined, message: String(e.message) })
      for (const w of waiters) w()
    },
    setStop(s) {
      stop = s
    },
    stop: () => { stop() },
    until(predicate, ms = 10_000, label = 'events') {
      if (predicate(events)) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!predicate(events)) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out after ${ms} ms waiting for ${label}: got ${events.length} (${JSON.stringify(errors)})`))
        }, ms)
        waiters.add(check)
      })
    },
  }
}

/** messages.onCreated of one conversation. */
export function onCreated(client: Client, messageGroupUuid: string, lastEventId?: string): Collected<Message> {
  const c = collector<Message>()
  const sub = client.messages.onCreated.subscribe(
    { messageGroupUuid, ...(lastEventId ? { lastEventId } : {}) },
    { onData: (e) => { c.push(e.id, e.data) }, onError: (err) => { c.fail(err) } },
  )
  c.setStop(() => { sub.unsubscribe() })
  return c
}

/** messageGroups.onChanged of the client's user. */
export function onChanged(client: Client, lastEventId?: string): Collected<MessageGroup> {
  const c = collector<MessageGroup>()
  const sub = client.messageGroups.onChanged.subscribe(lastEventId ? { lastEventId } : undefined, {
    onData: (e) => { c.push(e.id, e.data) },
    onError: (err) => { c.fail(err) },
  })
  c.setStop(() => { sub.unsubscribe() })
  return c
}

/** Waits until a subscription is open on the server (its gauge counts it), so what follows is "after". */
export async function opened(metricsText: () => Promise<string>, count: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const text = await metricsText()
    const open = [...text.matchAll(/^cruddur_subscriptions_open\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
    if (open >= count) return
    if (Date.now() > deadline) throw new Error(`only ${open} of ${count} subscriptions opened`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
