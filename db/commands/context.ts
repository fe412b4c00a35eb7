// The connections a command uses, opened on first use from the shared configuration and closed when
// the command ends, and the translation of any failure into one line naming the service.
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Backends } from '../../server/backends.js'
import { forgetCachedSubs } from '../../server/cache/forget-users.js'
import { type Config, ConfigError } from '../../server/config.js'
import { type ConversationsStore, createConversationsStore } from '../../server/data/conversations-store.js'
import type { Sql } from '../../server/data/postgres.js'
import { createUsersRepository, DuplicateUserError, type UsersRepository } from '../../server/data/users-repository.js'
import { localCredentials } from '../../server/lib/endpoints.js'
import { oneLine } from '../../server/lib/process.js'
import { CliError, type Service } from './common.js'

export interface Context {
  config: Config
  /** One line of output (stdout). */
  out(line?: string): void
  sql(): Promise<Sql>
  users(): Promise<UsersRepository>
  ddb(): Promise<DynamoDBDocumentClient>
  /** Drops cached sign-ins (sub -> user) of these subs, where the configuration names a Redis. */
  forgetSubs(subs: string[]): Promise<'forgotten' | 'no shared cache' | 'unreachable'>
  store(): Promise<ConversationsStore>
  cognito(): Promise<CognitoIdentityProviderClient>
  close(): Promise<void>
  /** One line describing a failure of this command. */
  describe(err: unknown): string
}

/** Which service an error came from, for AWS clients (tagged by a middleware) and postgres.js. */
const origin = new WeakMap<object, Service>()

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
])

interface AnyError {
  name?: string
  code?: string
  message?: string
  errors?: unknown[]
  $metadata?: unknown
}

/** Tags every failure of an AWS client with its service (a middleware around all the others). */
function tagErrors(client: { middlewareStack: { add: (...args: never[]) => void } }, service: Service) {
  const middleware =
    (next: (args: unknown) => Promise<unknown>) =>
    async (args: unknown): Promise<unknown> => {
      try {
        return await next(args)
      } catch (err) {
        if (err && typeof err === 'object') origin.set(err, service)
        throw err
      }
    }
  ;(client.middlewareStack.add as (m: unknown, o: unknown) => void)(middleware, { step: 'initialize', name: 'cliErrorOrigin' })
}

/** `host:port` of a PostgreSQL URL (never its credentials). */
function pgAddress(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || '5432'}`
  } catch {
    return 'the configured address'
  }
}

export function createContext(config: Config, out: (line: string) => void): Context {
  let backends: Promise<Backends> | undefined
  let opened: Backends | undefined
  let cognito: CognitoIdentityProviderClient | undefined

  // Loaded on first use: the AWS SDKs and the embedded stand-ins are slow to import, and most
  // commands need only some of them (help and usage errors none).
  const open = () =>
    (backends ??= import('../../server/backends.js').then(({ openBackends }) => openBackends(config)).then((b) => {
      opened = b
      tagErrors(b.ddb, 'dynamo')
      return b
    }))

  const where: Record<Service, () => string> = {
    postgres: () =>
      opened?.embedded.postgres
        ? `embedded PostgreSQL (${pgAddress(opened.databaseUrl)})`
        : `PostgreSQL at ${pgAddress(opened?.databaseUrl ?? config.databaseUrl ?? '')}`,
    dynamo: () => {
      const endpoint = opened?.dynamoEndpoint ?? config.aws.dynamodbEndpoint
      return opened?.embedded.dynamo ? `embedded DynamoDB (${endpoint})` : endpoint ? `DynamoDB at ${endpoint}` : `DynamoDB (AWS ${config.aws.region})`
    },
    cognito: () => (config.cognitoEndpoint ? `Cognito at ${config.cognitoEndpoint}` : `Cognito (AWS ${config.aws.region})`),
  }

  function describe(err: unknown): string {
    if (err instanceof CliError || err instanceof ConfigError) return err.message
    if (err instanceof DuplicateUserError) return err.message
    const e = (err && typeof err === 'object' ? err : { message: String(err) }) as AnyError
    const message = oneLine(e.message || e.name || 'unknown failure')
    // postgres.js: server errors are PostgresError; its own connection errors carry network codes.
    const service = (err && typeof err === 'object' ? origin.get(err) : undefined) ?? (e.name === 'PostgresError' || (e.code && NETWORK_CODES.has(e.code)) ? 'postgres' : undefined)
    if (!service) return message
    const at = where[service]()
    const code = networkCode(e)
    if (code) return `${at} is unreachable (${code})`
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return `${at} is unreachable (timed out)`
    if (service === 'postgres') {
      if (e.code === '3D000' || e.code === '28000' || e.code === '28P01') return `${at} refused the connection: ${message}`
      if (e.code === '42P01') return `${at}: ${message} (run pg:migrate)`
      return `${at}: ${message}`
    }
    if (service === 'dynamo' && e.name === 'ResourceNotFoundException') {
      return `${at}: table "${config.table}" does not exist (run ddb:schema-load)`
    }
    if (e.name === 'CredentialsProviderError') return `${at}: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)`
    const name = e.name && e.name !== 'Error' && !message.startsWith(e.name) ? `${e.name}: ` : ''
    return `${at}: ${name}${message}`
  }

  return {
    config,
    out: (line = '') => out(line),
    sql: async () => (await open()).sql,
    users: async () => createUsersRepository((await open()).sql),
    ddb: async () => (await open()).ddb,
    forgetSubs: (subs) => forgetCachedSubs(config, subs),
    store: async () => createConversationsStore((await open()).ddb, config.table),
    async cognito() {
      if (cognito) return cognito
      const { CognitoIdentityProviderClient } = await import('@aws-sdk/client-cognito-identity-provider')
      const endpoint = config.cognitoEndpoint
      cognito = new CognitoIdentityProviderClient({
        region: config.aws.region,
        ...(endpoint ? { endpoint } : {}),
        ...localCredentials(endpoint),
        maxAttempts: 2,
        requestHandler: { connectionTimeout: 5000, requestTimeout: 30_000 },
      })
      tagErrors(cognito, 'cognito')
      return cognito
    },
    async close() {
      cognito?.destroy()
      if (backends) await (await backends.catch(() => undefined))?.close()
    },
    describe,
  }
}


/** The network failure code of an error (also inside an AggregateError of several addresses). */
function networkCode(e: AnyError): string | undefined {
  if (e.code && NETWORK_CODES.has(e.code)) return e.code
  for (const inner of e.errors ?? []) {
    const code = (inner as AnyError | undefined)?.code
    if (code && NETWORK_CODES.has(code)) return code
  }
  return undefined
}
