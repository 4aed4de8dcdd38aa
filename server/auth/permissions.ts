/**
 * The access model: what each role and key scope may do. Every route declares one Access next to
 * itself (route config `access`); plugins/auth.ts checks it in one place.
 */
export const PERMISSIONS = [
  'parcels:read',
  'parcels:write',
  'custody:write',
  'fleet:read',
  'fleet:write',
  'exceptions:read',
  'kpis:read',
  'webhooks',
  'finance:read',
  'finance:write',
  'pii:read',
  'access:admin'
] as const
export type Permission = typeof PERMISSIONS[number]

/** public: anyone (health, pages, a buyer's token); device: the route checks a device's own secret. */
export type Access = Permission | 'public' | 'device'

export const ROLES = ['admin', 'dispatcher', 'finance', 'claims', 'viewer', 'merchant'] as const
export type Role = typeof ROLES[number]

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: PERMISSIONS,
  dispatcher: ['parcels:read', 'parcels:write', 'custody:write', 'fleet:read', 'exceptions:read', 'kpis:read', 'pii:read'],
  finance: ['parcels:read', 'exceptions:read', 'kpis:read', 'finance:read', 'finance:write'],
  claims: ['parcels:read', 'fleet:read', 'exceptions:read', 'pii:read'],
  viewer: ['parcels:read', 'fleet:read', 'exceptions:read', 'kpis:read'],
  merchant: ['parcels:read', 'parcels:write', 'webhooks', 'finance:read', 'pii:read']
}

/**
 * What a merchant's key or user may ever hold: its own parcels, webhooks and money. The fleet,
 * other merchants' exceptions and the installation-wide KPIs are not a merchant's to see.
 */
export const MERCHANT_PERMISSIONS: readonly Permission[] = ROLE_PERMISSIONS.merchant

/** Who is asking: the installation key, an API key or a logged-in user. */
export interface Principal {
  kind: 'installation' | 'key' | 'user'
  /** Stable and printable, for the audit log: "installation", "key:<id>", "user:<email>". */
  actor: string
  /** Null: the operator's own, seeing every merchant. */
  merchantId: string | null
  permissions: ReadonlySet<Permission>
  role: Role | null
  /** Set for a session: what ends it. */
  sessionHash?: Buffer
}

export const INSTALLATION: Principal = {
  kind: 'installation',
  actor: 'installation',
  merchantId: null,
  permissions: new Set(PERMISSIONS),
  role: 'admin'
}

export function userPrincipal (user: { email: string, role: Role, merchantId: string | null }, sessionHash?: Buffer): Principal {
  return {
    kind: 'user',
    actor: `user:${user.email}`,
    merchantId: user.merchantId,
    permissions: new Set(ROLE_PERMISSIONS[user.role]),
    role: user.role,
    ...(sessionHash === undefined ? {} : { sessionHash })
  }
}

export function keyPrincipal (key: { id: string, merchantId: string | null, scopes: readonly Permission[] }): Principal {
  const allowed = key.merchantId === null ? key.scopes : key.scopes.filter((scope) => MERCHANT_PERMISSIONS.includes(scope))
  return { kind: 'key', actor: `key:${key.id}`, merchantId: key.merchantId, permissions: new Set(allowed), role: null }
}

export function isPermission (value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value)
}

/** Why a key may not be created with these scopes, or null. */
export function scopeProblem (merchantId: string | null, scopes: readonly string[]): string | null {
  const unknown = scopes.filter((scope) => !isPermission(scope))
  if (unknown.length > 0) return `unknown scopes: ${unknown.join(', ')} (known: ${PERMISSIONS.join(', ')})`
  if (merchantId === null) return null
  const beyond = scopes.filter((scope) => !MERCHANT_PERMISSIONS.includes(scope as Permission))
  return beyond.length === 0 ? null : `a merchant's key may hold only ${MERCHANT_PERMISSIONS.join(', ')}; not ${beyond.join(', ')}`
}


/** Whether something of this merchant (null: the operator's own) is within the principal's reach. */
export function canSee (principal: Principal | null, merchantId: string | null): boolean {
  return principal !== null && (principal.merchantId === null || principal.merchantId === merchantId)
}
