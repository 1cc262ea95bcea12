/** The receiving window's screen. */
export function ReceiveScreen() {
  return (
    <section class="panel" aria-labelledby="receive-title">
      <h1 id="receive-title">Receive files</h1>
      <p class="hint">Ferry is getting ready.</p>
    </section>
  );
}
