/** The sending window's screen. */
export function SendScreen() {
  return (
    <section class="panel" aria-labelledby="send-title">
      <h1 id="send-title">Send files</h1>
      <p class="hint">Ferry is getting ready.</p>
    </section>
  );
}
