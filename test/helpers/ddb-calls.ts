// Counts the DynamoDB calls a client sends, by command, with an SDK middleware at the start of its
// stack: every call the code makes is counted once, whatever its outcome.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

export interface CallCounter {
  total(): number
  byCommand(): Record<string, number>
  reset(): void
}

export function countCalls(ddb: DynamoDBDocumentClient): CallCounter {
  const counts = new Map<string, number>()
  ddb.middlewareStack.add(
    (next, context) => (args) => {
      const name = context.commandName ?? 'unknown'
      counts.set(name, (counts.get(name) ?? 0) + 1)
      return next(args)
    },
    { step: 'initialize', name: 'testCallCounter' },
  )
  return {
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    byCommand: () => Object.fromEntries([...counts].sort()),
    reset: () => { counts.clear() },
  }
}
