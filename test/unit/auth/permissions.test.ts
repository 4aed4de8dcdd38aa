import { describe, expect, it } from 'vitest'
import { canSee, INSTALLATION, keyPrincipal, MERCHANT_PERMISSIONS, PERMISSIONS, ROLE_PERMISSIONS, ROLES, scopeProblem, userPrincipal } from '../../../server/auth/permissions.js'

describe('permissions', () => {
  it('gives the installation key and admins every permission, and no other role access administration', () => {
    expect([...INSTALLATION.permissions].sort()).toEqual([...PERMISSIONS].sort())
    expect(ROLE_PERMISSIONS.admin).toEqual(PERMISSIONS)
    for (const role of ROLES.filter((r) => r !== 'admin')) expect(ROLE_PERMISSIONS[role], role).not.toContain('access:admin')
  })

  it('keeps a merchant out of the fleet, other merchants\' exceptions and installation-wide KPIs', () => {
    for (const permission of ['fleet:read', 'fleet:write', 'custody:write', 'exceptions:read', 'kpis:read', 'access:admin'] as const) {
      expect(MERCHANT_PERMISSIONS).not.toContain(permission)
    }
  })

  it('refuses unknown scopes and, on a merchant\'s key, scopes beyond a merchant\'s', () => {
    expect(scopeProblem(null, ['parcels:read', 'fleet:write'])).toBeNull()
    expect(scopeProblem(null, ['parcels:everything'])).toMatch(/^unknown scopes: parcels:everything/)
    expect(scopeProblem('acme', ['parcels:read', 'webhooks'])).toBeNull()
    expect(scopeProblem('acme', ['parcels:read', 'fleet:read', 'access:admin'])).toMatch(/not fleet:read, access:admin$/)
  })

  it('drops from a merchant\'s key any scope a merchant may not hold, even if stored', () => {
    const principal = keyPrincipal({ id: 'k1', merchantId: 'acme', scopes: ['parcels:read', 'fleet:read'] })
    expect([...principal.permissions]).toEqual(['parcels:read'])
    expect(principal.actor).toBe('key:k1')
  })

  it('lets the operator see every merchant\'s things and a merchant only its own', () => {
    const merchant = userPrincipal({ email: 'shop@acme.example', role: 'merchant', merchantId: 'acme' })
    const dispatcher = userPrincipal({ email: 'desk@ops.example', role: 'dispatcher', merchantId: null })
    expect([canSee(merchant, 'acme'), canSee(merchant, 'globex'), canSee(merchant, null)]).toEqual([true, false, false])
    expect([canSee(dispatcher, 'acme'), canSee(dispatcher, null)]).toEqual([true, true])
    expect(canSee(null, null)).toBe(false)
  })
})
