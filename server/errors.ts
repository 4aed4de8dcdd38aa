import createError from '@fastify/error'

/** Every error the API answers with, each with a stable code clients can branch on. */
export const Errors = {
  NotFound: createError<[string, string]>('TS_NOT_FOUND', '%s "%s" does not exist', 404),
  AlreadyExists: createError<[string, string]>('TS_ALREADY_EXISTS', '%s "%s" already exists', 409),
  UnknownReference: createError<[string, string]>('TS_UNKNOWN_REFERENCE', 'there is no %s "%s"', 422),
  WrongKind: createError<[string, string]>('TS_WRONG_KIND', 'device "%s" is not a %s', 422),
  BadShape: createError<[string]>('TS_BAD_SHAPE', '%s', 422),
  WrongState: createError<[string]>('TS_WRONG_STATE', '%s', 409),
  Unauthorized: createError('TS_UNAUTHORIZED', 'an API key is required: send "Authorization: Bearer <key>" or log in', 401),
  BadApiKey: createError('TS_BAD_API_KEY', 'that API key is not valid', 401),
  BadCredentials: createError('TS_BAD_CREDENTIALS', 'wrong email or password', 401),
  Forbidden: createError<[string]>('TS_FORBIDDEN', 'not allowed: %s', 403),
  TooManyAttempts: createError<[number]>('TS_TOO_MANY_ATTEMPTS', 'too many wrong passwords for this account; try again in %d s', 429),
  NotReady: createError<[string]>('TS_NOT_READY', 'not ready: %s', 503),
  BadText: createError<[string]>('TS_BAD_TEXT', '%s: text must be valid UTF-8 without NUL characters', 400),
  ForbiddenDestination: createError<[string]>('TS_FORBIDDEN_DESTINATION', '%s', 400),
  DatabaseUnavailable: createError('TS_DATABASE_UNAVAILABLE', 'the database is unavailable right now; try again shortly', 503),
  ShuttingDown: createError('TS_SHUTTING_DOWN', 'trackstream is shutting down; try again shortly', 503),
  Overloaded: createError('TS_OVERLOADED', 'trackstream holds as many unacknowledged messages as it may (the database is slow or away); try again shortly', 503),
  NotStored: createError<[string]>('TS_NOT_STORED', 'the database refused to store %s; nothing was recorded, and the refusal is logged', 500),
  Internal: createError<[string]>('TS_INTERNAL', 'internal error (request %s); it is logged', 500)
}
