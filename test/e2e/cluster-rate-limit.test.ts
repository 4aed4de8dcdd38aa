import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { redisMissing, startRedis, type TestRedis } from '../support/redis.js'
import { startTestServer, type TestServer } from '../support/server.js'

if (redisMissing !== undefined) console.warn(`cluster rate-limit test skipped: ${redisMissing}`)

const PASSWORD = 'a long enough passphrase'

describe.skipIf(redisMissing !== undefined)('cluster mode: two instances count logins together in Redis', () => {
  let redis: TestRedis
  let db: TestDatabase
  let a: TestServer
  let b: TestServer

  const login = async (server: TestServer, password: string, remoteAddress: string): Promise<number> =>
    (await server.app.inject({ method: 'POST', url: '/api/session', payload: { email: 'desk@ops.example', password }, remoteAddress })).statusCode

  beforeAll(async () => {
    redis = await startRedis()
    db = await createTestDatabase()
    // many free tries: only the per-address limit is under test here
    const env = { REDIS_URL: redis.url, LOGIN_FREE_TRIES: '1000' }
    a = await startTestServer({ db, env })
    b = await startTestServer({ db, env })
    expect((await a.api('POST', '/api/users', { email: 'desk@ops.example', password: PASSWORD, role: 'viewer' })).status).toBe(201)
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
    await db?.drop()
    await redis?.stop()
  })

  it('refuses the 11th try in a minute from one address, whichever instance each try reached', async () => {
    const answers: number[] = []
    for (let i = 0; i < 10; i++) answers.push(await login(i % 2 === 0 ? a : b, `wrong ${i}`, '10.7.0.1'))
    expect(answers).toEqual(Array(10).fill(401))
    expect(await login(a, PASSWORD, '10.7.0.1')).toBe(429)
    expect(await login(b, PASSWORD, '10.7.0.1')).toBe(429)
    expect(await login(b, PASSWORD, '10.7.0.2')).toBe(200)
  })

  it('lets logins through, unlimited, while Redis is away, rather than failing them', async () => {
    await redis.stop()
    expect(await login(a, PASSWORD, '10.7.0.3')).toBe(200)
    expect(await login(b, 'wrong', '10.7.0.3')).toBe(401)
  })
})
