// The DynamoDB table of the original (keys pk/sk, sparse index on message_group_uuid + sk).
import {
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { GROUP_INDEX } from './ddb-items.js'

/** Either client: a document client sends table commands unchanged (it only marshals items). */
export type AnyDynamoClient = DynamoDBClient | DynamoDBDocumentClient
// Both are smithy clients with the same config and middleware; commands and the waiter only call send().
// eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- see the line above
const raw = (c: AnyDynamoClient): DynamoDBClient => c

/** Creates the table unless it exists; true when it was created. */
export async function createTable(anyClient: AnyDynamoClient, table: string): Promise<boolean> {
  const client = raw(anyClient)
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'message_group_uuid', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: GROUP_INDEX,
            KeySchema: [
              { AttributeName: 'message_group_uuid', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    )
  } catch (err) {
    if (err instanceof ResourceInUseException) return false
    throw err
  }
  await waitUntilTableExists({ client, maxWaitTime: 120 }, { TableName: table })
  return true
}

/** Deletes a table; false when there was none. */
export async function dropTable(client: AnyDynamoClient, table: string): Promise<boolean> {
  try {
    await raw(client).send(new DeleteTableCommand({ TableName: table }))
    return true
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return false
    throw err
  }
}

export async function listTables(client: AnyDynamoClient): Promise<string[]> {
  const names: string[] = []
  let start: string | undefined
  do {
    const out = await raw(client).send(new ListTablesCommand({ ExclusiveStartTableName: start }))
    names.push(...(out.TableNames ?? []))
    start = out.LastEvaluatedTableName
  } while (start)
  return names
}
