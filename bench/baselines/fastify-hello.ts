import Fastify from 'fastify'

/** Baseline: the smallest Fastify route, on the same machine, for the REST figures. argv: port */
const app = Fastify()
app.get('/', async () => ({ hello: 'world' }))
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' })
console.log('fastify hello listening')
