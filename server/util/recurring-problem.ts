export interface ProblemLog {
  warn: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
  debug: (obj: object, msg: string) => void
}

/**
 * For a loop that retries (a sweep, a refresh, the webhook dispatcher): an outage is one warning
 * when it starts (or its reason changes), debug lines while it lasts, and one line when it ends,
 * not a warning every few hundred milliseconds.
 */
export class RecurringProblem {
  private last: string | undefined

  constructor (private readonly log: ProblemLog, private readonly what: string) {}

  failed (error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error)
    if (reason === this.last) {
      this.log.debug({ reason }, `${this.what} still failing; will retry`)
      return
    }
    this.last = reason
    this.log.warn({ reason }, `${this.what} failed; will retry`)
  }

  succeeded (): void {
    if (this.last === undefined) return
    this.last = undefined
    this.log.info({}, `${this.what} works again`)
  }
}
