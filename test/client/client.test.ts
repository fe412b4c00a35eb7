// @cruddur/client as an outside app uses it: imported by package name, against the real server.
import {
  type Client,
  type ClientError,
  createClient,
  isClientError,
  type Message,
  type MessageGroup,
  type Page,
  type RouterInputs,
  type RouterOutputs,
  type UserShort,
} from '@cruddur/client'
import t from 'tap'
import { testApp } from '../helpers/app.js'

/** A fetch that records every HTTP request the client makes. */
function countingFetch() {
  const requests: { url: string; method: string }[] = []
  const fetcher: typeof globalThis.fetch = async (input, init) => {
    requests.push({ url: String(input instanceof Request ? input.url : input), method: init?.method ?? 'GET' })
    return globalThis.fetch(input, init)
  }
  return { requests, fetch: fetcher }
}

async function rejection(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p
  } catch (err) {
    if (isClientError(err)) return err
    throw err
  }
  throw new Error('expected a rejection')
}

const expSeconds = (token: string): number =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp

t.test('@cruddur/client against the server', async (t) => {
  const app = await testApp(t)

  await t.test('a token as a string; typed results', async (t) => {
    const client: Client = createClient({ url: app.url, token: await app.token('andrewbrown') })
    const me: UserShort = await client.users.me.query()
    t.equal(me.handle, 'andrewbrown')
    const bayko: UserShort = await client.users.short.query({ handle: '@Bayko' })
    t.equal(bayko.displayName, 'Andrew Bayko')

    const created: RouterOutputs['messages']['create'] = await client.messages.create.mutate({ message: 'typed hello', handle: 'bayko' })
    const message: Message = created.message
    t.equal(message.message, 'typed hello')
    t.match(message.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    const again = await client.messages.create.mutate({ message: 'again', messageGroupUuid: created.messageGroupUuid })
    t.equal(again.messageGroupUuid, created.messageGroupUuid)

    const groups: Page<MessageGroup> = await client.messageGroups.list.query()
    t.equal(groups.items.length, 1)
    t.equal(groups.items[0]!.handle, 'bayko')
    t.equal(groups.items[0]!.message, 'again')
    t.equal(groups.nextCursor, null)
    const withInput = await client.messageGroups.list.query({ limit: 1 })
    t.same(withInput.items, groups.items)

    const input: RouterInputs['messages']['list'] = { messageGroupUuid: created.messageGroupUuid, limit: 1 }
    const page = await client.messages.list.query(input)
    t.same(page.items.map((m) => m.message), ['again'])
    t.type(page.nextCursor, 'string')
    const older = await client.messages.list.query({ ...input, cursor: page.nextCursor! })
    t.same(older.items.map((m) => m.message), ['typed hello'])
    t.equal(older.nextCursor, null)

    // Compile-time checks: wrong inputs and outputs do not type-check (so the types are not `any`).
    const typeChecks = async () => {
      // @ts-expect-error message must be a string
      await client.messages.create.mutate({ message: 42, handle: 'bayko' })
      // @ts-expect-error limit is a number
      await client.messageGroups.list.query({ limit: 'ten' })
      // @ts-expect-error no such procedure
      await client.messages.delete.mutate({ uuid: 'x' }) // eslint-disable-line @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access -- must not type-check
      // @ts-expect-error users.short needs a handle
      await client.users.short.query({})
      // @ts-expect-error a query has no mutate
      await client.users.me.mutate() // eslint-disable-line @typescript-eslint/no-unsafe-call -- must not type-check
      // @ts-expect-error displayName is a string, not a number
      const n: number = (await client.users.me.query()).displayName
      return n
    }
    t.type(typeChecks, 'function')
  })

  await t.test('a token function is called per request; refreshes just work', async (t) => {
    let calls = 0
    const token = await app.token('bayko')
    const counter = countingFetch()
    const client = createClient({
      url: `${app.url}/trpc/`,
      fetch: counter.fetch,
      token: () => {
        calls++
        return Promise.resolve(token)
      },
    })
    await client.users.me.query()
    await client.messageGroups.list.query()
    await client.users.short.query({ handle: 'londo' })
    t.equal(calls, 3, 'called once per request')
    t.equal(counter.requests.length, 3)

    // A function that refreshes an expired token: each request sees the current one.
    let current = await app.token('londo', { ttlSeconds: -30 })
    let refreshes = 0
    const source = () => {
      if (expSeconds(current) <= Date.now() / 1000) {
        refreshes++
        return app.token('londo').then((fresh) => (current = fresh))
      }
      return current
    }
    const refreshing = createClient({ url: app.url, token: source })
    t.equal((await refreshing.users.me.query()).handle, 'londo', 'the refreshed token is used')
    t.equal((await refreshing.users.me.query()).handle, 'londo')
    t.equal(refreshes, 1, 'refreshed once, then reused')

    // A token that expires between requests: the function hands out the new one.
    current = await app.token('londo', { ttlSeconds: 1 })
    t.equal((await refreshing.users.me.query()).handle, 'londo')
    await new Promise((r) => setTimeout(r, (expSeconds(current) + 0.05) * 1000 - Date.now()))
    t.equal((await refreshing.users.me.query()).handle, 'londo', 'works after the first token expired')
    t.equal(refreshes, 2, 'refreshed after expiry')

    // Without the refresh, the expired token is refused.
    const stale = createClient({ url: app.url, token: await app.token('londo', { ttlSeconds: -30 }) })
    const e = await rejection(stale.users.me.query())
    t.equal(e.data?.code, 'UNAUTHORIZED')
    t.equal(e.data?.httpStatus, 401)
    // A function returning nothing sends no header: UNAUTHORIZED too.
    const none = createClient({ url: app.url, token: () => undefined })
    t.equal((await rejection(none.users.me.query())).data?.code, 'UNAUTHORIZED')
  })

  await t.test('typed errors: isClientError, data.code, data.httpStatus, data.issues', async (t) => {
    const client = createClient({ url: app.url, token: await app.token('londo') })
    const notFound = await rejection(client.users.short.query({ handle: 'nobody' }))
    t.ok(isClientError(notFound))
    t.equal(notFound.data?.code, 'NOT_FOUND')
    t.equal(notFound.data?.httpStatus, 404)
    t.equal(notFound.data?.path, 'users.short')
    t.type(notFound.message, 'string')

    const bad = await rejection(client.messageGroups.list.query({ limit: 0 }))
    t.equal(bad.data?.code, 'BAD_REQUEST')
    t.equal(bad.data?.httpStatus, 400)
    const issues = bad.data?.issues ?? []
    const paths: string[] = issues.map((i) => i.path)
    t.same(paths, ['limit'])

    const tooLong = await rejection(client.messages.create.mutate({ message: 'x'.repeat(1025), handle: 'bayko' }))
    t.equal(tooLong.data?.code, 'BAD_REQUEST')
    t.same(tooLong.data?.issues?.map((i) => i.path), ['message'])
    const self = await rejection(client.messages.create.mutate({ message: 'me?', handle: 'londo' }))
    t.equal(self.data?.code, 'BAD_REQUEST')
    t.same(self.data?.issues?.map((i) => i.path), ['handle'])
    const foreign = await rejection(client.messages.list.query({ messageGroupUuid: '0b7d3c8e-2f41-4a6b-9c1d-5e8f7a6b4c3d' }))
    t.equal(foreign.data?.code, 'NOT_FOUND')

    t.notOk(isClientError(new Error('plain')), 'a plain Error is not a client error')
    t.notOk(isClientError(undefined))
    // A transport failure is a client error too, without data.
    const down = createClient({ url: 'http://127.0.0.1:9', token: 'x' })
    const transport = await rejection(down.users.me.query())
    t.ok(isClientError(transport))
    t.equal(transport.data, undefined, 'no data: nothing was answered')
  })

  await t.test('batching: parallel calls share one HTTP request', async (t) => {
    const counter = countingFetch()
    const client = createClient({ url: app.url, token: await app.token('andrewbrown'), fetch: counter.fetch })
    const [me, groups, bayko] = await Promise.all([
      client.users.me.query(),
      client.messageGroups.list.query({ limit: 5 }),
      client.users.short.query({ handle: 'bayko' }),
    ])
    t.equal(me.handle, 'andrewbrown')
    t.ok(Array.isArray(groups.items))
    t.equal(bayko.handle, 'bayko')
    t.equal(counter.requests.length, 1, '3 parallel queries -> 1 HTTP request')
    t.match(counter.requests[0]!.url, /\/trpc\/users\.me,messageGroups\.list,users\.short\?batch=1/)

    // One failing call does not fail its neighbours.
    counter.requests.length = 0
    const settled = await Promise.allSettled([client.users.me.query(), client.users.short.query({ handle: 'ghost' })])
    t.equal(counter.requests.length, 1)
    t.equal(settled[0].status, 'fulfilled')
    t.equal(settled[1].status, 'rejected')
    if (settled[1].status === 'rejected') t.equal((settled[1].reason as ClientError).data?.code, 'NOT_FOUND')

    // Queries are batched (GET); each create is a request of its own (POST): ten of the longest
    // messages would not fit the server's body limit in one.
    counter.requests.length = 0
    const [, a, b] = await Promise.all([
      client.users.me.query(),
      client.messages.create.mutate({ message: 'batched 1', handle: 'londo' }),
      client.messages.create.mutate({ message: 'batched 2', handle: 'londo' }),
    ])
    t.equal(a.messageGroupUuid, b.messageGroupUuid)
    t.same(counter.requests.map((r) => r.method).sort(), ['GET', 'POST', 'POST'], 'one GET for the query, one POST per mutation')

    // At most 20 calls per request by default; maxBatchSize lowers it.
    counter.requests.length = 0
    await Promise.all(Array.from({ length: 25 }, () => client.users.me.query()))
    t.equal(counter.requests.length, 3, '25 parallel calls -> 3 requests of at most 10 (the server refuses larger batches)')
    const small = createClient({ url: app.url, token: await app.token('andrewbrown'), fetch: counter.fetch, maxBatchSize: 5 })
    counter.requests.length = 0
    await Promise.all(Array.from({ length: 12 }, () => small.users.me.query()))
    t.equal(counter.requests.length, 3, 'maxBatchSize 5: 12 calls -> 3 requests')
  })

  await t.test('extra headers are sent with every request', async (t) => {
    const seen: (string | null)[] = []
    const client = createClient({
      url: app.url,
      token: await app.token('bayko'),
      headers: { 'x-request-source': 'client-test' },
      fetch: async (input, init) => {
        seen.push(new Headers(init?.headers).get('x-request-source'))
        return globalThis.fetch(input, init)
      },
    })
    await client.users.me.query()
    t.same(seen, ['client-test'])
  })
})
