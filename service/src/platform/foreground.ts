// Foreground and background work in one process: requests being answered (ingestion, the API, the dashboard) are
// the foreground; work nobody waits on (webhook delivery) asks `foregroundBusy()` and slows down while it is busy,
// so a backlog drains in the gaps instead of taking the CPU and the database from requests.
import type http from 'node:http';

/** How long after its last request the foreground still counts as busy (requests arrive back to back under load). */
const quietAfterMs = 200;

let inFlight = 0;
let lastEnded = -Infinity;

/** Counts a request as foreground work until its response is finished or its connection closed. */
export function trackForeground(response: http.ServerResponse): void {
  inFlight += 1;
  response.once('close', () => {
    inFlight -= 1;
    lastEnded = performance.now();
  });
}

/** Whether a request is being answered now, or one ended within the last `quietAfterMs`. */
export function foregroundBusy(now = performance.now()): boolean {
  return inFlight > 0 || now - lastEnded < quietAfterMs;
}
