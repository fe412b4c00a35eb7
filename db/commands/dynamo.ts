// DynamoDB: the table, its contents, and the original's two access-pattern scripts.
import { QueryCommand, type QueryCommandOutput, ScanCommand } from '@aws-sdk/lib-dynamodb'
import { Handle } from '@cruddur/contracts'
import { GROUP_INDEX, type MessageItem, messagePk, toMessage } from '../../server/data/ddb-items.js'
import { createTable, dropTable, listTables } from '../../server/data/table.js'
import { seedConversation } from '../../server/data/seed.js'
import { CliError, type Command, columns, localTime, parseCommandArgs, plural, preview, UsageError, usageOf, UUID } from './common.js'
import type { Context } from './context.js'

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/

export const ddbSchemaLoad: Command<Context> = {
  name: 'ddb:schema-load',
  args: '',
  summary: 'create the table (DDB_MESSAGE_TABLE) and its index, unless it exists',
  async run(ctx, argv) {
    parseCommandArgs(this, argv, {})
    const table = ctx.config.table
    const created = await createTable(await ctx.ddb(), table)
    ctx.out(created ? `created table ${table} (index ${GROUP_INDEX})` : `table ${table} already exists; nothing to do`)
  },
}

export const ddbDrop: Command<Context> = {
  name: 'ddb:drop',
  args: '<table>',
  summary: 'delete a table and everything in it',
  async run(ctx, argv) {
    const [table] = parseCommandArgs(this, argv, { positionals: ['<table>'] }).positionals as [string]
    if (!TABLE_NAME.test(table)) throw new UsageError(`'${table}' is not a DynamoDB table name`, usageOf(this))
    const dropped = await dropTable(await ctx.ddb(), table)
    ctx.out(dropped ? `dropped table ${table}` : `table ${table} does not exist; nothing to drop`)
  },
}

export const ddbListTables: Command<Context> = {
  name: 'ddb:list-tables',
  args: '',
  summary: 'list the tables of the endpoint',
  async run(ctx, argv) {
    parseCommandArgs(this, argv, {})
    const names = await listTables(await ctx.ddb())
    if (names.length === 0) ctx.out('(no tables)')
    for (const name of names) ctx.out(name)
  },
}

export const ddbScan: Command<Context> = {
  name: 'ddb:scan',
  args: '',
  summary: 'print every item of the table (pk, sk, handle, message)',
  async run(ctx, argv) {
    parseCommandArgs(this, argv, {})
    const ddb = await ctx.ddb()
    const items: Record<string, unknown>[] = []
    let start: Record<string, unknown> | undefined
    do {
      const page = await ddb.send(new ScanCommand({ TableName: ctx.config.table, ExclusiveStartKey: start }))
      items.push(...(page.Items ?? []))
      start = page.LastEvaluatedKey
    } while (start)
    const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v))
    const key = (i: Record<string, unknown>) => `${text(i.pk)}\u0000${text(i.sk)}`
    items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
    const rows = items.map((i) => [text(i.pk), text(i.sk), text(i.user_handle), preview(text(i.message))])
    for (const line of columns(rows, { header: ['pk', 'sk', 'user_handle', 'message'] })) ctx.out(line)
    ctx.out(`${plural(items.length, 'item')} in ${ctx.config.table}`)
  },
}

export const ddbSeed: Command<Context> = {
  name: 'ddb:seed',
  args: '',
  summary: 'write the seed conversation (andrewbrown and bayko), unless they have one',
  async run(ctx, argv) {
    parseCommandArgs(this, argv, {})
    const { groupUuid, written } = await seedConversation(await ctx.store(), await ctx.users())
    ctx.out(
      written
        ? `seeded conversation ${groupUuid} (andrewbrown and bayko): ${plural(written, 'message')}`
        : `conversation ${groupUuid} (andrewbrown and bayko) already has messages; nothing to do`,
    )
  },
}

export const ddbGetConversation: Command<Context> = {
  name: 'ddb:get-conversation',
  args: '<messageGroupUuid> [--limit N]',
  summary: "print a conversation's messages (the latest N with --limit) and the read capacity used",
  async run(ctx, argv) {
    const { positionals, values } = parseCommandArgs(this, argv, {
      positionals: ['<messageGroupUuid>'],
      options: { limit: { type: 'string' } },
    })
    const groupUuid = positionals[0]!
    if (!UUID.test(groupUuid)) throw new UsageError(`'${groupUuid}' is not a uuid`, usageOf(this))
    const limit = values.limit === undefined ? undefined : Number(values.limit)
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new UsageError('--limit must be a positive whole number', usageOf(this))
    }

    // The message-list access pattern: newest first (as the app reads a page), shown oldest first.
    const ddb = await ctx.ddb()
    const items: MessageItem[] = []
    let capacity = 0
    let requests = 0
    let start: Record<string, unknown> | undefined
    do {
      const page: QueryCommandOutput = await ddb.send(
        new QueryCommand({
          TableName: ctx.config.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': messagePk(groupUuid) },
          ScanIndexForward: false,
          ReturnConsumedCapacity: 'TOTAL',
          ExclusiveStartKey: start,
          ...(limit !== undefined ? { Limit: limit - items.length } : {}),
        }),
      )
      requests++
      capacity += page.ConsumedCapacity?.CapacityUnits ?? 0
      items.push(...((page.Items ?? []) as MessageItem[]))
      start = page.LastEvaluatedKey
    } while (start && (limit === undefined || items.length < limit))
    if (items.length === 0) throw new CliError(`conversation ${groupUuid} has no messages in ${ctx.config.table}`)

    const messages = items.reverse().map(toMessage)
    const rows = messages.map((m) => [m.handle, localTime(m.createdAt), preview(m.message)])
    for (const line of columns(rows)) ctx.out(line)
    ctx.out(
      `${plural(messages.length, 'message')}; consumed capacity: ${capacity} read capacity units (${plural(requests, 'query request')})`,
    )
  },
}

export const ddbListConversations: Command<Context> = {
  name: 'ddb:list-conversations',
  args: '<handle>',
  summary: "print a user's conversations, newest first",
  async run(ctx, argv) {
    const [raw] = parseCommandArgs(this, argv, { positionals: ['<handle>'] }).positionals as [string]
    const handle = Handle.safeParse(raw)
    if (!handle.success) throw new UsageError(`'${raw}' is not a handle`, usageOf(this))
    const user = await (await ctx.users()).findByHandle(handle.data)
    if (!user) throw new CliError(`no user with handle "${handle.data}" in PostgreSQL`)

    const store = await ctx.store()
    const rows: string[][] = []
    let cursor: string | undefined
    do {
      const page = await store.listGroups(user.uuid, { limit: 100, cursor })
      for (const g of page.items) rows.push([localTime(g.createdAt), g.handle, g.displayName, g.uuid, preview(g.message)])
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    ctx.out(`conversations of ${user.handle} (${user.displayName}), newest first:`)
    for (const line of columns(rows)) ctx.out(`  ${line}`)
    ctx.out(plural(rows.length, 'conversation'))
  },
}
