// Polling wait for a condition a test cannot be told about by an event (e.g. a state that a
// debounced reload reaches): resolves as soon as it holds, fails the test with `what` if it never does.

export async function waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
