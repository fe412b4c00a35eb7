// A deadline on a call to a backend: past it the caller gets DeadlineExceeded (answered 503) instead
// of waiting on a backend that stopped answering. The call itself is left to finish or fail unseen.
import { DeadlineExceeded } from './outage.js'

export function withDeadline<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new DeadlineExceeded(what, ms))
    }, ms)
    timer.unref()
  })
  return Promise.race([work, deadline]).finally(() => {
    clearTimeout(timer)
  })
}

/** Every method of `target` under the deadline (a repository whose calls all go to one backend). */
export function deadlined<T extends object>(what: string, ms: number, target: T): T {
  const wrapped = {} as Record<string, unknown>
  for (const [name, value] of Object.entries(target)) {
    wrapped[name] =
      typeof value === 'function'
        ? (...args: unknown[]) => withDeadline(what, ms, Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)))
        : value
  }
  return wrapped as T
}
