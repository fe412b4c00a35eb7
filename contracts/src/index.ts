// The contract of Cruddur Messages (docs/api.md) as zod schemas and the types inferred from them.
// The server validates with these; @cruddur/client's types come from them through the router.
import { z } from 'zod'

/** `2026-11-27T18:00:00.000Z`: every time on the wire. */
export const Timestamp = z.iso.datetime({ precision: 3, offset: false })

export const Uuid = z.uuid()

/** A uuid the client names: uuids are case-insensitive, stored in lower case, so one is read as such. */
export const UuidInput = z.uuid().transform((s) => s.toLowerCase())

/**
 * Something a reader can see: besides whitespace, format and control characters (zero-width spaces
 * and joiners, the BOM, bidi marks) and the blank look-alikes (Hangul fillers, the braille blank, the
 * combining grapheme joiner) show nothing.
 */
const VISIBLE = /[^\s\p{Cf}\p{Cc}\p{Zs}\p{Zl}\p{Zp}\u034F\u115F\u1160\u3164\uFFA0\u2800]/u

/** `@Bayko ` is the handle `Bayko`: trimmed, without its leading `@`. */
export const normalizeHandle = (raw: string): string => {
  const h = raw.trim()
  return h.startsWith('@') ? h.slice(1) : h
}

/** What identifies a handle: handles are case-insensitive (`Bayko` and `bayko` are one user). */
export const handleKey = (raw: string): string => normalizeHandle(raw).toLowerCase()

/** A handle, with or without a leading `@`; compared case-insensitively. */
export const Handle = z
  .string()
  .transform(normalizeHandle)
  .pipe(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 letters, digits, _ . or -'))

export const MessageText = z
  .string()
  .min(1, 'must not be empty')
  .max(1024, 'must be at most 1024 characters')
  .refine((s) => s.trim().length > 0, 'must not be only whitespace')
  .refine((s) => VISIBLE.test(s), 'must contain a visible character')

export const Limit = z.number().int().min(1).max(100)
export const Cursor = z.string().min(1).max(512)

export const UserShort = z.object({ uuid: Uuid, handle: z.string(), displayName: z.string() })
export type UserShort = z.infer<typeof UserShort>

export const MessageGroup = z.object({
  uuid: Uuid,
  handle: z.string(),
  displayName: z.string(),
  message: z.string(),
  createdAt: Timestamp,
})
export type MessageGroup = z.infer<typeof MessageGroup>

export const Message = z.object({
  uuid: z.string(),
  handle: z.string(),
  displayName: z.string(),
  message: z.string(),
  createdAt: Timestamp,
})
export type Message = z.infer<typeof Message>

export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() })
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export const PageInput = z.object({ limit: Limit.default(20), cursor: Cursor.optional() }).strict()

// Procedure inputs and outputs, one per row of API.md's table.
export const UsersShortInput = z.object({ handle: Handle }).strict()
export const MessageGroupsListInput = PageInput.optional().transform((i) => i ?? { limit: 20 })
export const MessagesListInput = PageInput.extend({ messageGroupUuid: UuidInput }).strict()
/** A uuid the client makes once per message: a repeat of the create answers the first one's message. */
export const ClientMessageId = UuidInput
export const MessagesCreateInput = z.union([
  z.object({ message: MessageText, messageGroupUuid: UuidInput, clientMessageId: ClientMessageId.optional() }).strict(),
  z.object({ message: MessageText, handle: Handle, clientMessageId: ClientMessageId.optional() }).strict(),
])
export const MessagesCreateOutput = z.object({ messageGroupUuid: Uuid, message: Message })

/** An event id a subscription delivered (opaque): subscribing again with it resumes after that event. */
export const LastEventId = z.string().min(1).max(256).nullish()
export const MessagesOnCreatedInput = z.object({ messageGroupUuid: UuidInput, lastEventId: LastEventId }).strict()
export const MessageGroupsOnChangedInput = z
  .object({ lastEventId: LastEventId })
  .strict()
  .optional()
  .transform((i) => i ?? {})
export type MessagesOnCreatedInput = z.output<typeof MessagesOnCreatedInput>
export type MessageGroupsOnChangedInput = z.output<typeof MessageGroupsOnChangedInput>

export type PageInput = z.output<typeof PageInput>
export type MessagesListInput = z.output<typeof MessagesListInput>
export type MessagesCreateInput = z.output<typeof MessagesCreateInput>
export type MessagesCreateOutput = z.infer<typeof MessagesCreateOutput>

/** What `error.data.issues` holds on BAD_REQUEST: the offending field paths and why. */
export interface InputIssue {
  path: string
  message: string
}
