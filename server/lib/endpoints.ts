/** A loopback endpoint (dynalite, DynamoDB Local, cognito-local): it checks no AWS signature. */
export const isLocalEndpoint = (endpoint: string | undefined): boolean =>
  endpoint !== undefined && /^https?:\/\/(127\.|localhost[:/]|localhost$|\[::1\])/.test(endpoint)

/** Credentials for a local endpoint when none are configured: the SDK signs every request with some. */
export const localCredentials = (endpoint: string | undefined) =>
  isLocalEndpoint(endpoint) && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}
