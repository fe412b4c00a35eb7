// Failures of DynamoDB calls at chosen moments, injected into a client's middleware stack: `before`
// the request is sent (it never reaches DynamoDB, as when a process dies before writing), or `after`
// DynamoDB answered (the write landed, the answer is lost, as when a connection drops).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

export interface Call {
  command: string
  /** The partition key of the item a Put/Update/Delete/Get names (marshalled or not), if any. */
  pk: string | undefined
  input: Record<string, unknown>
}

export interface Fault {
  when(call: Call): boolean
  phase: 'before' | 'after'
  /** How many matching calls fail (then it stays quiet). */
  times?: number
}

const pkOf = (input: Record<string, unknown>): string | undefined => {
  const key = (input.Item ?? input.Key) as Record<string, unknown> | undefined
  const pk = key?.pk
  if (typeof pk === 'string') return pk
  const s = (pk as { S?: unknown } | undefined)?.S
  return typeof s === 'string' ? s : undefined
}

/** Installs the fault; returns how many calls it failed so far. */
export function injectFault(ddb: DynamoDBDocumentClient, fault: Fault): () => number {
  let failed = 0
  const limit = fault.times ?? 1
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>
      // Counted when chosen: calls running side by side must not all take the last failure.
      const hit = failed < limit && fault.when({ command: context.commandName ?? '', pk: pkOf(input), input })
      if (hit) failed++
      if (hit && fault.phase === 'before') {
        throw Object.assign(new Error('injected: connection reset before the request was sent'), { code: 'ECONNRESET', name: 'Error' })
      }
      const out = await next(args)
      if (hit) {
        throw Object.assign(new Error('injected: connection reset after DynamoDB answered'), { code: 'ECONNRESET', name: 'Error' })
      }
      return out
    },
    { step: 'initialize', name: `testFault${Math.random().toString(36).slice(2)}` },
  )
  return () => failed
}
