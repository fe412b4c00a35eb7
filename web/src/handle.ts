// Handles as the contract reads them (`@Bayko ` is `Bayko`, compared case-insensitively). Written out
// here rather than imported from @cruddur/contracts, whose zod schemas would weigh on the first load.
export const normalizeHandle = (raw: string): string => {
  const h = raw.trim()
  return h.startsWith('@') ? h.slice(1) : h
}

export const handleKey = (raw: string): string => normalizeHandle(raw).toLowerCase()
