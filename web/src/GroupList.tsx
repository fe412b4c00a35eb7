// The list of conversations: the other person's name and @handle, the last message, and when.
import type { MessageGroup } from '@cruddur/client'
import { Link } from './router'
import { fullTime, relativeTime } from './time'
import type { Load } from './use-load'
import { useNow } from './use-now'

export function GroupList({ groups, activeUuid }: { groups: Load<MessageGroup[]>; activeUuid: string | undefined }) {
  const now = useNow()
  if (groups.state === 'loading') return <p className="placeholder" role="status">Loading conversations…</p>
  if (groups.state === 'failed') return <p className="placeholder" role="alert">The conversations could not be loaded.</p>
  if (groups.data.length === 0) {
    return <p className="placeholder">No conversations yet. Start one with “New message”.</p>
  }
  return (
    <ul className="groups" aria-label="Conversations, newest first">
      {groups.data.map((g) => (
        <li key={g.uuid}>
          <Link
            href={`/messages/${g.uuid}`}
            className="group"
            aria-current={g.uuid === activeUuid ? 'page' : undefined}
            data-uuid={g.uuid}
          >
            <span className="group-head">
              <span className="name">{g.displayName}</span>
              <span className="handle">@{g.handle}</span>
              <time className="when" dateTime={g.createdAt} title={fullTime(g.createdAt)}>
                {relativeTime(g.createdAt, now)}
              </time>
            </span>
            <span className="last">{g.message}</span>
          </Link>
        </li>
      ))}
    </ul>
  )
}
