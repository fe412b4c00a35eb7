// The current time, re-read every interval, so relative times ("5m") age while the page stays open.
import { useEffect, useState } from 'react'

export function useNow(intervalMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => { setNow(Date.now()) }, intervalMs)
    return () => { clearInterval(t) }
  }, [intervalMs])
  return now
}
