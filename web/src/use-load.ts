// Loads something and keeps trying while the server cannot be reached (with the banner showing).
import { useCallback, useEffect, useRef, useState } from 'react'
import { type Failure, reportFailure, reportSuccess } from './api'

export type Load<T> =
  | { state: 'loading' }
  | { state: 'ready'; data: T }
  | { state: 'failed'; failure: Failure }

const RETRY_MS = [1_000, 2_000, 4_000, 8_000]

export function useLoad<T>(load: () => Promise<T>, key: string): Load<T> {
  const [result, setResult] = useState<Load<T>>({ state: 'loading' })
  const loadRef = useRef(load)
  loadRef.current = load
  const run = useCallback(
    (attempt: number, cancelled: { value: boolean }) => {
      loadRef.current().then(
        (data) => {
          if (cancelled.value) return
          reportSuccess()
          setResult({ state: 'ready', data })
        },
        (err: unknown) => {
          if (cancelled.value) return
          const failure = reportFailure(err)
          if (failure === 'unreachable') {
            const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]
            setTimeout(() => {
              if (!cancelled.value) run(attempt + 1, cancelled)
            }, delay)
            return
          }
          setResult({ state: 'failed', failure })
        },
      )
    },
    [],
  )
  useEffect(() => {
    const cancelled = { value: false }
    setResult({ state: 'loading' })
    run(0, cancelled)
    return () => {
      cancelled.value = true
    }
  }, [key, run])
  return result
}
