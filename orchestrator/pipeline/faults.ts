// Fault injection for tests: the one place the orchestrator reads a test-only environment variable.
// Every such variable, of both languages, is listed in docs/TESTING.md; unset, nothing here does anything.

/**
 * C3L_TEST_PAUSE_MS: block this long at every stage start and after every recorded batch, so a test
 * can kill a run inside a chosen stage. Blocking (Atomics.wait, not a timer) is deliberate: nothing
 * else runs meanwhile, so the kill lands between two recorded steps, as a real crash would.
 */
export function testPause(): void {
  const ms = Number(process.env.C3L_TEST_PAUSE_MS ?? 0);
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
