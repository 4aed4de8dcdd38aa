/** Whether Intl knows this IANA time zone (Asia/Bangkok), as every place that takes one checks. */
export function isTimeZone (zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone }).format(0)
    return true
  } catch {
    return false
  }
}
