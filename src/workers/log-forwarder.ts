// A worker thread's log lines go to the main thread, which writes them to the agent's one log
// destination: one writer for the process, so lines of different threads never interleave mid-line.

/** What pino writes to (a DestinationStream). */
export interface LineSink {
  write(text: string): void;
}

/**
 * Worker side: batches the lines written during one turn of the event loop into one message.
 * flush() sends at once (before a drain answer, so no line is lost to an orderly exit).
 */
export class ForwardingLogStream implements LineSink {
  private buffered: string[] = [];
  private scheduled = false;

  constructor(private readonly send: (text: string) => void) {}

  write(text: string): void {
    this.buffered.push(text);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.buffered.length === 0) return;
    const text = this.buffered.join('');
    this.buffered = [];
    this.send(text);
  }
}
