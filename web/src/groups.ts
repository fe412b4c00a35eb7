// The caller's conversations, newest first, kept in order live by messageGroups.onChanged.
import type { MessageGroup } from '@cruddur/client'
import { useEffect, useState } from 'react'
import { api, reportFailure, reportSuccess } from './api'
import { type Load, useLoad } from './use-load'

/** Puts a changed conversation at the top (a list holds each conversation once). */
export function upsertGroup(groups: MessageGroup[], changed: MessageGroup): MessageGroup[] {
  const rest = groups.filter((g) => g.uuid !== changed.uuid)
  // Events of one subscription come in order, but a list loaded after an event may be newer still.
  const old = groups.find((g) => g.uuid === changed.uuid)
  if (old && old.createdAt > changed.createdAt) return groups
  return [changed, ...rest]
}

export function useGroups(): Load<MessageGroup[]> {
  const loaded = useLoad(() => api.messageGroups.list.query({ limit: 50 }).then((p) => p.items), 'groups')
  const [live, setLive] = useState<MessageGroup[]>([])
  const [list, setList] = useState<MessageGroup[] | null>(null)

  // Subscribed before the list is read, so a message between the two is not missed.
  useEffect(() => {
    const sub = api.messageGroups.onChanged.subscribe(undefined, {
      onStarted: () => { reportSuccess() },
      onData: (event) => {
        reportSuccess()
        setLive((l) => [...l, event.data])
      },
      onError: (err) => reportFailure(err),
    })
    return () => { sub.unsubscribe() }
  }, [])

  useEffect(() => {
    if (loaded.state !== 'ready') return
    setList(loaded.data)
  }, [loaded])

  useEffect(() => {
    if (live.length === 0 || list === null) return
    setList((l) => live.reduce(upsertGroup, l ?? []))
    setLive([])
  }, [live, list])

  if (loaded.state !== 'ready') return loaded
  return { state: 'ready', data: list ?? loaded.data }
}
