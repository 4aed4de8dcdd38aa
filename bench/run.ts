import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { commandVersion, describeMachine } from './lib/machine.js'
import { ROOT } from './lib/stage.js'
import { ingest } from './scenarios/ingest.js'

const USAGE = `npm run bench -- <scenario> [options]

  ingest        fleet → broker → database, against aedes alone and Mosquitto
                --devices 5000 --hz 4 --qos 1 --seconds 60 --fixes 1 --format json --window 8
                --only aedes,mosquitto,trackstream

Results go to bench/results/<scenario>.json and .md.`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    devices: { type: 'string', default: '5000' },
    hz: { type: 'string', default: '4' },
    qos: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '60' },
    fixes: { type: 'string', default: '1' },
    format: { type: 'string', default: 'json' },
    window: { type: 'string', default: '8' },
    only: { type: 'string' }
  }
})
const scenario = positionals[0]
const log = (line: string): void => { console.log(`[bench] ${line}`) }

if (scenario === 'ingest') {
  const options = {
    devices: Number(values.devices),
    hz: Number(values.hz),
    qos: values.qos === '0' ? 0 as const : 1 as const,
    durationS: Number(values.seconds),
    fixesPerMessage: Number(values.fixes),
    format: values.format === 'protobuf' ? 'protobuf' as const : 'json' as const,
    window: Number(values.window),
    only: values.only === undefined ? null : values.only.split(',')
  }
  const result = await ingest(options, log)
  await save('ingest', { options, ...result })
} else {
  console.log(USAGE)
  process.exitCode = scenario === undefined ? 0 : 2
}

async function save (name: string, result: { database: string } & Record<string, unknown>): Promise<void> {
  const dir = path.join(ROOT, 'bench/results')
  await mkdir(dir, { recursive: true })
  const machine = describeMachine(result.database)
  const report = { scenario: name, at: new Date().toISOString(), machine, mosquitto: commandVersion('mosquitto', ['-h'])?.split('\n')[0] ?? null, ...result }
  await writeFile(path.join(dir, `${name}.json`), JSON.stringify(report, null, 2) + '\n')
  log(`wrote bench/results/${name}.json`)
}
