import { hash, verify } from '@node-rs/argon2'

/** argon2id (the library's default) with 19 MiB and 2 passes, OWASP's minimum; salted per password. */
export async function hashPassword (password: string): Promise<string> {
  return await hash(password)
}

export async function passwordMatches (stored: string, given: string): Promise<boolean> {
  try {
    return await verify(stored, given)
  } catch {
    return false
  }
}

let decoy: Promise<string> | undefined

/** Checks the password against a throwaway hash: an unknown email then takes as long as a wrong password. */
export async function spendLikeAVerify (given: string): Promise<false> {
  decoy ??= hashPassword('trackstream-decoy')
  await passwordMatches(await decoy, given)
  return false
}
