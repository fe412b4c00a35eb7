// The API: one router per resource. Clients import only this file's type.
import { router } from './init.js'
import { messageGroupsRouter } from './routers/message-groups.js'
import { messagesRouter } from './routers/messages.js'
import { usersRouter } from './routers/users.js'

export const appRouter = router({
  users: usersRouter,
  messageGroups: messageGroupsRouter,
  messages: messagesRouter,
})

export type AppRouter = typeof appRouter
