// What the server tells the page about sign-in (GET /app-config.json, server/routes/web.ts).
export interface CognitoSettings {
  region: string
  clientId: string
  /** cognito-local or another endpoint; unset for AWS's own. */
  endpoint?: string
}

export type AppConfig = { signIn: 'dev' } | { signIn: 'cognito'; cognito: CognitoSettings }

let loaded: Promise<AppConfig> | undefined

export function appConfig(): Promise<AppConfig> {
  loaded ??= fetch('/app-config.json').then(async (res) => {
    if (!res.ok) throw new Error(`app-config.json: ${res.status}`)
    return (await res.json()) as AppConfig
  })
  loaded.catch(() => (loaded = undefined))
  return loaded
}
