// A bounded queue between the code that learns of events and the stream that writes them. A client
// that reads too slowly cannot make it grow: past `capacity` the stream is ended (abort-style, so the
// client reconnects and resumes from its last event id), and the memory goes with it.

/** How a stream ends without tRPC's `return` event: the client's EventSource reconnects by itself. */
export class StreamAbort extends Error {
  override name = 'AbortError'
  constructor(readonly reason: 'overflow' | 'shutdown' | 'gone') {
    super(`stream ended: ${reason}`)
  }
}

export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = []
  private waiter: { resolve(r: IteratorResult<T>): void; reject(e: Error): void } | undefined
  private finished: { error: Error } | undefined
  private roomWaiters: (() => void)[] = []

  /** Told once, when the queue ends (for whatever reason), before the reader learns of it. */
  onEnd: ((error: Error) => void) | undefined

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.items.length
  }

  /** Adds an event; false (and the queue ends with an overflow) when it was full. */
  push(item: T): boolean {
    if (this.finished) return false
    if (this.waiter) {
      const w = this.waiter
      this.waiter = undefined
      w.resolve({ value: item, done: false })
      return true
    }
    if (this.items.length >= this.capacity) {
      this.end(new StreamAbort('overflow'))
      return false
    }
    this.items.push(item)
    return true
  }

  /**
   * Resolves when the reader has taken the queue down to half its capacity (or it ended). Reads of
   * DynamoDB wait here: they can pause, unlike rings, which overflow.
   */
  room(): Promise<void> {
    if (this.finished || this.items.length < this.capacity / 2) return Promise.resolve()
    return new Promise((resolve) => this.roomWaiters.push(resolve))
  }

  private freeRoom(): void {
    if (this.roomWaiters.length === 0 || (!this.finished && this.items.length >= this.capacity / 2)) return
    for (const resolve of this.roomWaiters.splice(0)) resolve()
  }

  /** Ends the stream: queued events are dropped (the client resumes from its last id) and `error` is thrown to the reader. */
  end(error: Error): void {
    if (this.finished) return
    this.finished = { error }
    this.items.length = 0
    this.freeRoom()
    this.onEnd?.(error)
    if (this.waiter) {
      const w = this.waiter
      this.waiter = undefined
      w.reject(error)
    }
  }

  /** A method, not a getter: callers read it again after awaits, when the queue may have ended. */
  ended(): boolean {
    return this.finished !== undefined
  }

  next(): Promise<IteratorResult<T>> {
    if (this.finished) return Promise.reject(this.finished.error)
    const item = this.items.shift()
    if (item !== undefined) {
      this.freeRoom()
      return Promise.resolve({ value: item, done: false })
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }))
  }

  return(): Promise<IteratorResult<T>> {
    this.end(new StreamAbort('gone'))
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}
