// The DynamoDB document client, built from the shared configuration.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from '../config.js'
import { localCredentials } from '../lib/endpoints.js'

export function createDynamo(config: Pick<Config, 'aws'>, endpoint = config.aws.dynamodbEndpoint): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.aws.region,
    ...(endpoint ? { endpoint } : {}),
    ...localCredentials(endpoint),
    maxAttempts: 3,
  })
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } })
}

/** A conditional write refused because its condition did not hold (not a failure of DynamoDB). */
export const isConditionFailure = (err: unknown): boolean =>
  (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException'
