// Process-level helpers shared by the server entry and the commands.
import { ConfigError } from './config.js'

/** The AWS SDK warns once per process that future releases need Node 22; we pin a release that runs on 20. */
export function quietNodeVersionWarning(): void {
  const emit = process.emitWarning.bind(process)
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type
    if (type === 'NodeVersionSupportWarning' || /will require node >=22/.test(text)) return
    return (emit as (...a: unknown[]) => void)(warning, ...rest)
  }) as typeof process.emitWarning
}

/** One line for a failure a user can act on; never a stack. */
export function describeFailure(err: unknown): string {
  if (err instanceof ConfigError) return `configuration error: ${err.message}`
  const e = err as { code?: string; message?: string; address?: string; port?: number; name?: string; errors?: unknown[] }
  const inner = Array.isArray(e.errors) ? (e.errors[0] as typeof e | undefined) : undefined
  const code = e.code ?? inner?.code
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
    const where = e.address ?? inner?.address
    const port = e.port ?? inner?.port
    return `${where ? `${where}${port ? `:${port}` : ''}` : 'a service'} is unreachable (${code})`
  }
  return e.message ? `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message.split('\n')[0]}` : String(err)
}
