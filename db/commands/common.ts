// What every `npm run db -- <command>` shares: the command shape, argument parsing, one-line errors
// and the small formatting helpers that keep the output readable.
import { parseArgs } from 'node:util'

/** A failure the user can act on: printed as `error: <message>`, exit 1 (or `exitCode`). */
export class CliError extends Error {
  override name = 'CliError'
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

/** A wrong or missing argument: the reason and the command's one-line usage, exit 2. */
export class UsageError extends CliError {
  override name = 'UsageError'
  constructor(
    readonly reason: string,
    readonly usage: string,
  ) {
    super(reason, 2)
  }
}

export type Service = 'postgres' | 'dynamo' | 'cognito'

export interface Command<Ctx = unknown> {
  name: string
  /** Arguments after the name, as shown in the usage line (may be empty). */
  args: string
  summary: string
  run(ctx: Ctx, argv: string[]): Promise<void>
}

export const PROGRAM = 'npm run db --'

export const usageOf = (c: Pick<Command, 'name' | 'args'>): string =>
  `usage: ${PROGRAM} ${c.name}${c.args ? ` ${c.args}` : ''}`

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>

/**
 * Parses a command's arguments strictly: exactly `positionals` names, and the given options.
 * Anything else is a UsageError carrying the command's usage line.
 */
export function parseCommandArgs<O extends OptionSpec>(
  command: Pick<Command, 'name' | 'args'>,
  argv: string[],
  spec: { positionals?: string[]; optionalPositionals?: number; options?: O },
) {
  const usage = usageOf(command)
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: spec.options ?? ({} as O), allowPositionals: true, strict: true })
  } catch (err) {
    // node:util's messages are long and mention its own API; keep the gist.
    const message = err instanceof Error ? err.message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '') : String(err)
    throw new UsageError(message.replace(/^Unknown option '(.+?)'.*$/, "unknown option '$1'"), usage)
  }
  const names = spec.positionals ?? []
  const min = names.length - (spec.optionalPositionals ?? 0)
  if (parsed.positionals.length < min) throw new UsageError(`missing ${names[parsed.positionals.length]}`, usage)
  if (parsed.positionals.length > names.length) {
    throw new UsageError(`unexpected argument '${parsed.positionals[names.length]}'`, usage)
  }
  return { positionals: parsed.positionals, values: parsed.values }
}

/** Lines of aligned columns; the last column is not padded. Widths count code points. */
export function columns(rows: string[][], options: { header?: string[]; gap?: number } = {}): string[] {
  const all = options.header ? [options.header, ...rows] : rows
  const gap = ' '.repeat(options.gap ?? 2)
  const widths: number[] = []
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))))
  return all.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
      .join(gap)
      .trimEnd(),
  )
}

const width = (s: string): number => Array.from(s).length

const pad2 = (n: number): string => String(n).padStart(2, '0')

/** `YYYY-MM-DD HH:MM` in the machine's local time zone. */
export function localTime(iso: string): string {
  const d = new Date(iso)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`
}

/** The first `n` characters of a text on one line (control characters as spaces), `...` if cut. */
export function preview(text: string, n = 40): string {
  // eslint-disable-next-line no-control-regex
  const chars = Array.from(text.replace(/[\u0000-\u001f\u007f]/g, ' '))
  return chars.length > n ? `${chars.slice(0, n).join('')}...` : chars.join('')
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
