import net from 'node:net'
import { Aedes } from 'aedes'

/** Baseline: the aedes broker with its default hooks and no processing, as a process of its own. */
const port = Number(process.argv[2])
const broker = await Aedes.createBroker()
const server = net.createServer((socket) => { broker.handle(socket) })
server.listen(port, '127.0.0.1', () => { console.log(`aedes alone listening on ${port}`) })
process.on('SIGTERM', () => { broker.close(() => { server.close(); process.exit(0) }) })
