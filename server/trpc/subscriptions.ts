// A subscription's events as tRPC streams them: each with its id (tracked), so the client resumes
// from the last one; refusals during the stream (an expired token) in their API code. A stream the
// server ends for the client to resume (shutdown, a slow reader) ends abort-style, without tRPC's
// `return` event, so the client's EventSource reconnects by itself.
import { tracked } from '@trpc/server'
import type { Delivery } from '../realtime/message-feed.js'
import { errorOfRefusal } from './errors.js'

export async function* trackedStream<T>(deliveries: AsyncGenerator<Delivery<T>>) {
  try {
    for await (const d of deliveries) yield tracked(d.id, d.data)
  } catch (err) {
    throw errorOfRefusal(err)
  }
}
