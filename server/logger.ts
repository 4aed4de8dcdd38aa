import { pino, type Logger } from 'pino'
import pretty from 'pino-pretty'
import type { Config } from './config.js'

/** Plain lines for people by default; LOG_FORMAT=json for log collectors. */
export function createLogger (config: Pick<Config, 'logLevel' | 'logFormat'>): Logger {
  if (config.logFormat === 'json') return pino({ level: config.logLevel })
  return pino({ level: config.logLevel }, pretty({
    colorize: process.stdout.isTTY,
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname,reqId',
    singleLine: true,
    sync: true
  }))
}
