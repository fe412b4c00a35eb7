// The DynamoDB document client, built from the shared configuration.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from '../config.js'

export function createDynamo(config: Pick<Config, 'aws'>, endpoint = config.aws.dynamodbEndpoint): DynamoDBDocumentClient {
  const local = endpoint !== undefined && /^https?:\/\/(127\.|localhost|\[::1\])/.test(endpoint)
  const client = new DynamoDBClient({
    region: config.aws.region,
    ...(endpoint ? { endpoint } : {}),
    // A local endpoint checks no signature; the SDK still needs some credentials to sign with.
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: 3,
  })
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } })
}
