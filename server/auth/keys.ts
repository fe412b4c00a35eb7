// RSA key pairs for signing Cognito-shaped tokens, and the local development pool's pair, kept under
// the data directory so the server and `npm run token` agree on it.
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import type { Jwks } from 'aws-jwt-verify/jwk'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { SigningKey } from './access-token.js'

export type { Jwks }

export interface KeyPair extends SigningKey {
  jwks: Jwks
}

export function generateKeyPair(kid = randomBytes(8).toString('hex')): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { kid, privateKey, jwks: { keys: [{ ...(publicKey.export({ format: 'jwk' }) as { n: string; e: string }), kty: 'RSA', kid, alg: 'RS256', use: 'sig' }] } }
}

interface StoredKey {
  kid: string
  privateKeyPem: string
  jwks: Jwks
}

/** The development pool's key pair, made on first use. Never accepted in production (config refuses). */
export async function devKeyPair(dataDir: string): Promise<KeyPair> {
  const dir = join(resolve(dataDir), 'dev-keys')
  const file = join(dir, 'signing-key.json')
  const read = async (): Promise<KeyPair> => {
    const stored = JSON.parse(await readFile(file, 'utf8')) as StoredKey
    return { kid: stored.kid, privateKey: createPrivateKey(stored.privateKeyPem), jwks: stored.jwks }
  }
  try {
    return await read()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const pair = generateKeyPair(`cruddur-dev-${randomBytes(4).toString('hex')}`)
  const stored: StoredKey = {
    kid: pair.kid,
    privateKeyPem: (pair.privateKey as import('node:crypto').KeyObject).export({ format: 'pem', type: 'pkcs8' }).toString(),
    jwks: pair.jwks,
  }
  await mkdir(dir, { recursive: true })
  try {
    // `wx`: when the server and a token command start together, the first writer wins.
    await writeFile(file, JSON.stringify(stored), { flag: 'wx', mode: 0o600 })
    return pair
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read()
    throw err
  }
}
