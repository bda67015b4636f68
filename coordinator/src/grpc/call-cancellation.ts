// A call's cancellation as an AbortSignal made only when a handler reads it
// (StartSaga, the hot path, does not): Node 20 gives every AbortSignal a hidden
// class of its own, and with one per call what it references outlived the
// scavenges (BENCHMARKS.md, "Session 7"). A call cancelled before its signal
// is read gets one already aborted.

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
