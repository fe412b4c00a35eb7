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
