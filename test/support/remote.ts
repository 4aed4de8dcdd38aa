import { TEST_API_KEY } from './server.js'

/**
 * For a server in another process (started as `npm start` runs it): its API with the test key,
 * and the few calls the crash and outage tests make of it.
 */
export async function remoteApi (httpUrl: string, method: string, path: string, body?: unknown): Promise<Response> {
  return await fetch(`${httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
}

/** Registers a tracker and returns its secret. */
export async function registerTracker (httpUrl: string, id: string): Promise<string> {
  const response = await remoteApi(httpUrl, 'POST', '/api/devices', { id, kind: 'tracker' })
  if (response.status !== 201) throw new Error(`could not register ${id}: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { secret: string }).secret
}

/** Messages the server has received from a device, acknowledged or not. */
export async function messagesSeen (httpUrl: string, deviceId: string): Promise<number> {
  const response = await remoteApi(httpUrl, 'GET', `/api/devices/${deviceId}`)
  return ((await response.json()) as { status: { messages: number } }).status.messages
}
