// Seed data: the original's three users and one conversation of about a hundred messages.
import type { ConversationsStore } from './conversations-store.js'
import type { User, UsersRepository } from './users-repository.js'

/**
 * The seed users. Their Cognito subs are fixed so that local development tokens (`npm run token`)
 * map to them; `cognito:sync-user-ids` replaces them with a real pool's subs.
 */
export const SEED_USERS = [
  { handle: 'andrewbrown', displayName: 'Andrew Brown', email: 'andrew@cruddur.example', cognitoUserId: '8d6b7f44-0e59-4c5e-9d1a-0c1e2b3a4d01' },
  { handle: 'bayko', displayName: 'Andrew Bayko', email: 'bayko@cruddur.example', cognitoUserId: '8d6b7f44-0e59-4c5e-9d1a-0c1e2b3a4d02' },
  { handle: 'londo', displayName: 'Londo Mollari', email: 'londo@cruddur.example', cognitoUserId: '8d6b7f44-0e59-4c5e-9d1a-0c1e2b3a4d03' },
] as const

/** Inserts the seed users that are missing; returns the handles added. */
export async function seedUsers(users: UsersRepository): Promise<string[]> {
  const added: string[] = []
  for (const u of SEED_USERS) {
    if (await users.findByHandle(u.handle)) continue
    await users.add(u)
    added.push(u.handle)
  }
  return added
}

// Two people planning a small project, in our own words; the lines repeat with a round number.
const LINES = [
  'Morning! Did the new build go out?',
  'It did, about ten minutes ago. No alarms so far.',
  'Nice. How does the message list feel now?',
  'Snappy. The cache takes most reads off the table.',
  'What happens when Redis goes away?',
  'Reads fall back to DynamoDB and nobody notices.',
  'And when it comes back?',
  'It fills again on its own, and old entries never come back.',
  'Can we try it on the staging box this afternoon?',
  'Sure, I will bring the load generator.',
  'How many conversations should we seed for the test?',
  'A few thousand, spread over a couple of hundred users.',
  'Remember last year when the list forgot January?',
  'The year filter. Never again: it is gone.',
  'Did the seeds end up in the future again?',
  'No, every seeded message is in the past now.',
  'Good, the time-ago labels finally make sense.',
  'Coffee first, then the benchmark?',
  'Coffee first, always.',
  'I wrote down the numbers from the last run.',
  'Send them over, I want to chart them.',
  'Sent. The p99 looks a lot calmer.',
  'That is the pre-built response bytes paying off.',
  'Let us write it up in the docs tonight.',
  'Deal. Talk later!',
] as const

/** Writes the seed conversation (andrewbrown and bayko) unless they already have one. */
export async function seedConversation(
  store: ConversationsStore,
  users: UsersRepository,
  options: { messages?: number; now?: Date } = {},
): Promise<{ groupUuid: string; written: number }> {
  const a = await users.findByHandle('andrewbrown')
  const b = await users.findByHandle('bayko')
  if (!a || !b) throw new Error('seed users missing: run pg:seed first')
  const groupUuid = await store.conversationFor(a.uuid, b.uuid)
  if ((await store.listMessages(groupUuid, { limit: 1 })).items.length > 0) return { groupUuid, written: 0 }

  const count = options.messages ?? 100
  const now = (options.now ?? new Date()).getTime()
  const speakers: [User, User] = [a, b]
  for (let i = 0; i < count; i++) {
    const sender = speakers[i % 2]!
    const recipient = speakers[(i + 1) % 2]!
    const line = LINES[i % LINES.length]!
    const round = Math.floor(i / LINES.length)
    await store.postMessage({
      groupUuid,
      sender,
      recipient,
      text: round === 0 ? line : `${line} (round ${round + 1})`,
      // One minute apart, the last one two minutes ago: all in the past.
      createdAt: new Date(now - (count - i + 1) * 60_000),
    })
  }
  return { groupUuid, written: count }
}
