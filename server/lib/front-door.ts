// The HTTP server, through Fastify's `serverFactory`: the node:http server Fastify would make itself,
// with a door in front of Fastify's request handler. A door opened there (the API's cache hits,
// server/trpc/hit-door.ts) sees each request first and may answer it without Fastify's routing, hooks
// and reply objects, which cost a cache hit about as much as its own work; whatever it does not take,
// or hands back, takes Fastify's path whole. Shut (as when the server starts closing), every request
// goes to Fastify.
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http'

/** Fastify's request handler: a request given to it is Fastify's from then on. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * Takes a request (true), or leaves it to Fastify untouched (false). A request taken is answered, or
 * handed to `fastify` later, still untouched: nothing written to it, nothing read from it.
 */
export type Door = (req: IncomingMessage, res: ServerResponse, fastify: RequestHandler) => boolean

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's front door (server.ts); null where there is none (requests are logged, or no server of ours). */
    frontDoor: FrontDoor | null
  }
}

export interface FrontDoor {
  open(door: Door): void
  shut(): void
  readonly isOpen: boolean
}

/** Fastify's processed server options that shape its HTTP/1 server (fastify/lib/server.js). */
interface ServerFactoryOptions {
  http?: ServerOptions | null
  keepAliveTimeout?: number
  requestTimeout?: number
  connectionTimeout?: number
  maxRequestsPerSocket?: number
}

export function frontDoorServer(): {
  serverFactory: (handler: RequestHandler, options: Record<string, unknown>) => Server
  frontDoor: FrontDoor
} {
  let door: Door | undefined
  return {
    serverFactory(handler, raw) {
      const options = raw as ServerFactoryOptions
      const server = createServer(options.http ?? {}, (req, res) => {
        if (door === undefined || !door(req, res, handler)) handler(req, res)
      })
      // As Fastify sets up the server it makes itself.
      if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout
      if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout
      server.setTimeout(options.connectionTimeout ?? 0)
      if (options.maxRequestsPerSocket !== undefined && options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket
      return server
    },
    frontDoor: {
      open(d) {
        door = d
      },
      shut() {
        door = undefined
      },
      get isOpen() {
        return door !== undefined
      },
    },
  }
}
