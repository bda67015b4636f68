// A call's cancellation as an AbortSignal made only when a handler reads it
// (StartSaga, the hot path, does not): Node 20 gives every AbortSignal a hidden
// class of its own, and in a stand-alone reproduction one per call made what it
// references outlive the scavenges; in the coordinator no gain was measured
// (BENCHMARKS.md, "Session 7"), so this is the cheaper path, not a proven one.
// A call cancelled before its signal is read gets one already aborted.

export class CallCancellation {
  private controller: AbortController | undefined;
  private cancelled = false;

  /** The call's signal, made on first read. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort();
    }
    return this.controller.signal;
  }

  /** The call was cancelled (or its stream closed): the signal, now or once made, is aborted. */
  cancel(): void {
    this.cancelled = true;
    this.controller?.abort();
  }
}
