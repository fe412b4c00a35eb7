// Fastify's query string parser (fast-querystring, as Fastify's default), remembering what it parsed:
// clients send the same few query strings over and over (a conversation's first page, a user's list
// as @trpc/client batches it), and a Map lookup of the raw string is cheaper than percent-decoding
// and parsing it again. The parsed objects are shared, so they are frozen; long strings are not kept.
import { parse } from 'fast-querystring'
import { boundedMap } from './bounded-map.js'

const MAX_KEPT_LENGTH = 512

export function memoQuerystringParser(max = 5_000): (raw: string) => Record<string, unknown> {
  const parsed = boundedMap<string, Record<string, unknown>>(max)
  return (raw) => {
    if (raw.length > MAX_KEPT_LENGTH) return parse(raw) as Record<string, unknown>
    let query = parsed.get(raw)
    if (!query) {
      query = Object.freeze(parse(raw) as Record<string, unknown>)
      parsed.set(raw, query)
    }
    return query
  }
}
