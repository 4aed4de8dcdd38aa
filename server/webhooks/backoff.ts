/** Deliveries are tried this many times in all, then marked failed. */
export const MAX_ATTEMPTS = 10

/** The first retry's delay, doubled for every later one: 3 minutes gives about a day over 10 attempts. */
export const DEFAULT_RETRY_BASE_MS = 180_000

/** Each delay is stretched or shrunk by up to this share, so receivers that failed together are not retried together. */
export const JITTER = 0.2

/**
 * How long to wait after failed attempt number `attempt` (1 for the first) before the next one:
 * base × 2^(attempt−1), ±20 % jitter. With the default base, the nine waits between ten attempts
 * add up to 25.5 hours nominal (20.4 to 30.7 with jitter).
 */
export function retryDelayMs (attempt: number, baseMs = DEFAULT_RETRY_BASE_MS, random: () => number = Math.random): number {
  const nominal = baseMs * 2 ** (Math.max(1, attempt) - 1)
  return Math.round(nominal * (1 - JITTER + 2 * JITTER * random()))
}

/** True when a delivery that failed attempt number `attempt` gets another one. */
export function shouldRetry (attempt: number): boolean {
  return attempt < MAX_ATTEMPTS
}
