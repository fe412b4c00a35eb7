// The caller memo (cachedReads' knownUser, what the fast path and the front door need to answer a hit
// without waiting): renewed in the background in its last stretch while it is used, once, so callers
// learned together do not all fall back to the full path together when it runs out; unused, it runs
// out, and the caller's next request waits for one read of it (shared by all their requests meanwhile).
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { entities } from '../../../server/cache/cache-backend.js'
import { cachedReads } from '../../../server/cache/cached-reads.js'
import { createMemoryCache } from '../../../server/cache/memory-cache.js'
import { createMetrics } from '../../../server/metrics.js'
import { directReads } from '../../../server/services/reads.js'
import { testBackends } from '../../helpers/backends.js'
import { settle, spiedBackend, waitFor } from './cache-utils.js'

t.test('a memo in use is renewed before it runs out, once; one left unused runs out', async (t) => {
  const b = await testBackends(t)
  const spy = spiedBackend(createMemoryCache({ ttlSeconds: 600 }))
  let clock = Date.now()
  const reads = cachedReads(directReads(b.users, b.store), spy.backend, createMetrics(), { now: () => clock })
  const tag = randomUUID().slice(0, 8)
  const sub = `memo-${tag}`
  const added = await b.users.add({ handle: `memo_${tag}`, displayName: 'Memo', email: `memo_${tag}@example.test`, cognitoUserId: sub })
  const user = { uuid: added.uuid, handle: added.handle, displayName: added.displayName }
  const lookups = () => spy.events.filter((e) => e.startsWith(`lookup ${entities.userBySub(sub)} `)).length

  t.equal(reads.knownUser(sub), undefined, 'not known before it is looked up')
  t.same(await reads.userBySub(sub), user)
  const learned = lookups()
  t.same(reads.knownUser(sub), user, 'known at once')

  clock += 15_000
  t.same(reads.knownUser(sub), user)
  await settle()
  t.equal(lookups(), learned, 'half-way through: nothing read')

  clock += 10_000 // 25 s: in the last stretch
  for (let i = 0; i < 5; i++) t.same(reads.knownUser(sub), user, 'answered from the memo meanwhile')
  t.ok(await waitFor(() => lookups() === learned + 1), 'renewed in the background')
  await settle()
  t.equal(lookups(), learned + 1, 'once, however many requests asked')

  clock += 20_000 // 45 s: past the first 30 s
  t.same(reads.knownUser(sub), user, 'still known: the memo was renewed')

  clock += 31_000 // unused for longer than a memo lasts
  await settle()
  t.equal(lookups(), learned + 1, 'nothing is read for an unused memo in the background')
  const asked = Array.from({ length: 5 }, () => reads.knownUser(sub))
  t.ok(asked.every((a) => a instanceof Promise), 'run out: the user is read again before it is used')
  t.same(await Promise.all(asked as Promise<unknown>[]), Array<unknown>(5).fill(user), 'and each who asked meanwhile gets it')
  t.equal(lookups(), learned + 2, 'from one read')
  t.same(reads.knownUser(sub), user, 'known at once again')
})

t.test('a memo run out whose sub lost its user, or whose read failed', async (t) => {
  const b = await testBackends(t)
  const spy = spiedBackend(createMemoryCache({ ttlSeconds: 600 }))
  let clock = Date.now()
  let failing = false
  const backend = {
    ...spy.backend,
    lookup: (ref: Parameters<typeof spy.backend.lookup>[0]) => (failing ? Promise.reject(new Error('cache down')) : spy.backend.lookup(ref)),
  }
  const source = directReads(b.users, b.store)
  const reads = cachedReads({ ...source, userBySub: (sub) => (failing ? Promise.reject(new Error('PostgreSQL down')) : source.userBySub(sub)) }, backend, createMetrics(), { now: () => clock })
  const tag = randomUUID().slice(0, 8)
  const [kept, moved] = [`kept-${tag}`, `moved-${tag}`]
  await b.users.add({ handle: `kept_${tag}`, displayName: 'Kept', email: `kept_${tag}@example.test`, cognitoUserId: kept })
  await b.users.add({ handle: `moved_${tag}`, displayName: 'Moved', email: `moved_${tag}@example.test`, cognitoUserId: moved })
  t.ok(await reads.userBySub(kept))
  t.ok(await reads.userBySub(moved))

  // The sub of `moved` goes to another sign-in, and its cached entry is dropped (as forgetCachedSubs does).
  await b.users.setCognitoUserId(`moved_${tag}`, `other-${tag}`)
  await spy.backend.invalidate([entities.userBySub(moved)])
  clock += 31_000
  t.equal(await reads.knownUser(moved), null, 'a sub without a user any more: not known (the full path refuses it)')
  t.equal(reads.knownUser(moved), undefined, 'and forgotten')

  failing = true
  t.equal(await reads.knownUser(kept), null, 'a failed read: the request takes the full path')
  failing = false
  const again = reads.knownUser(kept)
  t.ok(again instanceof Promise, 'tried again by the next request')
  t.same((await again)?.handle, `kept_${tag}`)
})
