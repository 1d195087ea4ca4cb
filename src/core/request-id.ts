/** A request id we accept from a client: short and made of safe characters. */
export function acceptableRequestId(v: string | string[] | undefined): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 200 && /^[A-Za-z0-9._:+/=-]+$/.test(v);
}
