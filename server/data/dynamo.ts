// The DynamoDB document client, built from the shared configuration.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from '../config.js'
import { withDeadline } from '../lib/deadline.js'
import { localCredentials } from '../lib/endpoints.js'

export function createDynamo(
  config: Pick<Config, 'aws'>,
  endpoint = config.aws.dynamodbEndpoint,
  options: { deadlineMs?: number } = {},
): DynamoDBDocumentClient {
  const { deadlineMs } = options
  const client = new DynamoDBClient({
    region: config.aws.region,
    ...(endpoint ? { endpoint } : {}),
    ...localCredentials(endpoint),
    // Throttling and transient failures are retried by the SDK with jittered backoff; under a
    // deadline (the server's client) a few more times, as the deadline bounds them all.
    maxAttempts: deadlineMs === undefined ? 3 : 5,
  })
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } })
  if (deadlineMs !== undefined) {
    // Around the retries (which run in a later step): the whole call, all its attempts, within the deadline.
    doc.middlewareStack.add((next, context) => (args) => withDeadline(`DynamoDB ${context.commandName ?? 'call'}`, deadlineMs, next(args)), {
      step: 'initialize',
      name: 'deadline',
    })
  }
  return doc
}

/** A conditional write refused because its condition did not hold (not a failure of DynamoDB). */
export const isConditionFailure = (err: unknown): boolean =>
  (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException'
