// aedes-persistence-redis ships no types; this is the part trackstream uses (its README, v11).
declare module 'aedes-persistence-redis' {
  interface Options {
    /** An ioredis connection the caller made and will close. */
    conn?: unknown
    /** Most offline messages delivered on one CONNECT; the rest wait for the next. */
    maxSessionDelivery?: number
  }
  interface Persistence {
    destroy: (cb?: () => void) => void
  }
  function aedesPersistenceRedis (options?: Options): Persistence
  export default aedesPersistenceRedis
}
