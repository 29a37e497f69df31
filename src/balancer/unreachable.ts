/**
 * Short, human-readable reasons why an endpoint cannot be reached, for the error a call gets
 * when no endpoint connects within the dial timeout. These are transport (socket) messages,
 * not etcd's: etcd's own error strings are only ever matched in src/errors.ts.
 */

/** Socket error codes and how the error message names them. */
const socketErrors: ReadonlyArray<readonly [code: string, text: string]> = [
  ['ECONNREFUSED', 'connection refused'],
  ['ECONNRESET', 'connection reset'],
  ['ETIMEDOUT', 'connection timed out'],
  ['EHOSTUNREACH', 'host unreachable'],
  ['ENETUNREACH', 'network unreachable'],
  ['ENOTFOUND', 'host not found'],
  ['EAI_AGAIN', 'host name lookup failed'],
  ['EADDRNOTAVAIL', 'address not available'],
  ['EPIPE', 'connection closed'],
];

/**
 * Turns the status details of a call that failed for lack of a connection (grpc-js reports
 * `No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. ...`)
 * into a short reason such as `connection refused`.
 */
export function connectFailureReason(details: string): string {
  for (const [code, text] of socketErrors) if (details.includes(code)) return text;
  const last = /Last error: (?:Error: )?(.*?)(?:\. Resolution note:.*)?$/s.exec(details);
  const text = (last?.[1] ?? details).replace(/ \(\d{4}-\d\d-\d\dT[^)]*\)$/, '').trim();
  if (/name resolution failed/i.test(text)) return 'host name lookup failed';
  return text === '' ? 'connection failed' : text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
