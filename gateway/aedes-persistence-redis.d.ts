// aedes-persistence-redis ships no types; this is the part trackstream uses (its README, v11).
declare module 'aedes-persistence-redis' {
  interface Options {
    /** An ioredis connection the caller made and will close. */
    conn?: unknown
  }
  /** Handed to aedes as it is; trackstream calls nothing on it. */
  interface Persistence { readonly __brand?: 'aedes-persistence-redis' }
  function aedesPersistenceRedis (options?: Options): Persistence
  export default aedesPersistenceRedis
}
