// Compile-time only (`npm test` type-checks it): the router type @cruddur/client publishes
// (client/src/router.ts, written out) equals the server's own, procedure by procedure.
import type { inferRouterError, inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import type { AppRouter as Written } from '../../client/src/router.js'
import type { AppRouter as Server } from '../../server/trpc/router.js'

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the usual exact-equality idiom
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
type Expect<T extends true> = T

export type Checks = [
  Expect<Equal<inferRouterInputs<Written>, inferRouterInputs<Server>>>,
  Expect<Equal<inferRouterOutputs<Written>, inferRouterOutputs<Server>>>,
  Expect<Equal<inferRouterError<Written>, inferRouterError<Server>>>,
  Expect<Equal<keyof Written['_def']['record'], keyof Server['_def']['record']>>,
]
