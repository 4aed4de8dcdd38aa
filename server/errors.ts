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
  NotReady: createError<[string]>('TS_NOT_READY', 'not ready: %s', 503)
}
