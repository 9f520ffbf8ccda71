/**
 * Keeps the event loop polling for a short while instead of sleeping in `epoll_wait`.
 *
 * A process that sleeps between two replies has to be woken for the next one, and on a virtual
 * machine that wake-up is paid mostly by the sender: an inter-processor interrupt through the
 * hypervisor, inside the sender's `write`. Against Go's server (bench cell A) this made Go's
 * server spend 3-5% more CPU per call on our client than on Go's own: `perf` on the Go server
 * showed `_raw_spin_unlock_irqrestore` (the wake-up) at 9% of its time against 4%. Go's own client
 * does not pay it because Go's scheduler spins for a while before it blocks. A pending
 * `setImmediate` makes libuv poll without blocking, so a chain of them for a few microseconds
 * after a read keeps the thread running while the next reply is likely on its way.
 *
 * One chain for the whole process, however many connections ask: each read extends the deadline.
 */
let hotUntil = 0;
let running = false;

function step(): void {
  if (performance.now() < hotUntil) setImmediate(step);
  else running = false;
}

let lastRead = 0;
let closeReads = 0;

/**
 * Called after a connection's read: keeps the loop polling for `ms` if reads in this process
 * (on any connection) have been coming within `ms` of each other and `busy` (the connection
 * expects more). A peer that answers in batches gives nothing to catch, so no spin then.
 */
export function afterRead(ms: number, busy: boolean): void {
  const now = performance.now();
  closeReads = closeReads * 0.875 + (now - lastRead < ms ? 0.125 : 0);
  lastRead = now;
  if (busy && closeReads > 0.5) keepHot(ms);
}

/** Keeps the event loop polling for at least `ms` more milliseconds. */
export function keepHot(ms: number): void {
  const until = performance.now() + ms;
  if (until > hotUntil) hotUntil = until;
  if (!running) {
    running = true;
    setImmediate(step);
  }
}

/** Whether the loop is being kept polling now (for tests and diagnostics). */
export function isHot(): boolean {
  return running;
}
