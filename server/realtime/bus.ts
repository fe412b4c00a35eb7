// The doorbell between instances: a message stored on one instance rings on every instance whose
// subscribers follow that conversation or user. It is not the mail: a missed ring costs latency, never
// a message (subscribers read DynamoDB when the bus was down, and when they see a gap).

export type BusStatus = 'up' | 'down'

export interface Listening {
  ready: Promise<void>
  stop(): void
}

export interface Bus {
  readonly kind: 'redis' | 'memory'
  /** Rings a channel; never throws, never waits for Redis longer than a command timeout. */
  publish(channel: string, payload: string): Promise<void>
  /**
   * Listens on a channel. One Redis subscription per channel per instance, shared by every listener
   * of this instance. `ready` resolves once rings published from then on reach the listener (or the
   * bus is down, and subscriptions read DynamoDB anyway); `stop` ends this listener.
   */
  subscribe(channel: string, listener: (payload: string) => void): Listening
  /** `up` while rings published now reach this instance. */
  status(): BusStatus
  /** Told when the status changes; `up` after `down` means: read what the bus missed. */
  onStatus(listener: (status: BusStatus) => void): () => void
  /** Resolves once the bus is up, or after `ms` (it then comes up later, and subscriptions poll meanwhile). */
  up(ms: number): Promise<void>
  close(): Promise<void>
}

/** Listeners by channel, with the first and last listener of a channel reported (to (un)subscribe). */
export function listenerRegistry(hooks: { first(channel: string): Promise<void>; last(channel: string): void }) {
  const byChannel = new Map<string, { listeners: Set<(payload: string) => void>; ready: Promise<void> }>()
  return {
    add(channel: string, listener: (payload: string) => void): Listening {
      let entry = byChannel.get(channel)
      if (!entry) {
        entry = { listeners: new Set(), ready: Promise.resolve() }
        byChannel.set(channel, entry)
        entry.ready = hooks.first(channel)
      }
      entry.listeners.add(listener)
      return {
        ready: entry.ready,
        stop() {
          const current = byChannel.get(channel)
          if (!current?.listeners.delete(listener) || current.listeners.size > 0) return
          byChannel.delete(channel)
          hooks.last(channel)
        },
      }
    },
    deliver(channel: string, payload: string): void {
      for (const listener of byChannel.get(channel)?.listeners ?? []) listener(payload)
    },
    channels: (): string[] => [...byChannel.keys()],
  }
}

/** One instance, no Redis: rings go straight to this process's listeners. */
export function createMemoryBus(): Bus {
  const registry = listenerRegistry({ first: () => Promise.resolve(), last() {} })
  return {
    kind: 'memory',
    publish(channel, payload) {
      // After the caller's turn, as a ring through Redis would arrive.
      setImmediate(() => { registry.deliver(channel, payload) })
      return Promise.resolve()
    },
    subscribe: (channel, listener) => registry.add(channel, listener),
    status: () => 'up',
    onStatus: () => () => {},
    up: () => Promise.resolve(),
    close: () => Promise.resolve(),
  }
}
