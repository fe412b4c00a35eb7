// Process-level helpers shared by the server entry and the commands.

/** The AWS SDK warns once per process that future releases need Node 22; we pin a release that runs on 20. */
export function quietNodeVersionWarning(): void {
  const emit = process.emitWarning.bind(process)
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type
    if (type === 'NodeVersionSupportWarning' || text.includes('will require node >=22')) return
    ;(emit as (...a: unknown[]) => void)(warning, ...rest)
  })
}

/** The first non-empty line of an error's message (never a stack). */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown failure'
}

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH'])

/** One line for a failure a user can act on: an unreachable address named, else the error's gist. */
export function describeFailure(err: unknown): string {
  const e = err as { code?: string; message?: string; address?: string; port?: number; name?: string; errors?: unknown[] }
  const inner = Array.isArray(e.errors) ? (e.errors[0] as typeof e | undefined) : undefined
  const code = e.code ?? inner?.code
  if (code && NETWORK.has(code)) {
    const where = e.address ?? inner?.address
    const port = e.port ?? inner?.port
    return `${where ? `${where}${port ? `:${port}` : ''}` : 'a service'} is unreachable (${code})`
  }
  const name = err instanceof Error && err.name !== 'Error' ? `${err.name === 'ConfigError' ? 'configuration error' : err.name}: ` : ''
  return `${name}${oneLine(err)}`
}
