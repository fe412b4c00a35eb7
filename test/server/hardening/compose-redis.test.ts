// compose.yaml runs Redis as the service expects it (docs/design.md, "Bounded cache"): a memory
// ceiling, and eviction among keys with a TTL only, so the cache epoch (no TTL) is never evicted.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'

t.test('compose.yaml: Redis with maxmemory and volatile-lru', async (t) => {
  const compose = parse(await readFile(new URL('../../../compose.yaml', import.meta.url), 'utf8')) as { services: { redis: { command: string[] } } }
  const command = compose.services.redis.command
  const flag = (name: string) => command[command.indexOf(name) + 1]
  t.equal(flag('--maxmemory'), '256mb')
  t.equal(flag('--maxmemory-policy'), 'volatile-lru')
})
