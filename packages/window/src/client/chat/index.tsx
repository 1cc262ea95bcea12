/** The chat window's screen. */
export function ChatScreen() {
  return (
    <section class="panel" aria-labelledby="chat-title">
      <h1 id="chat-title">Chat</h1>
      <p class="hint">Ferry is getting ready.</p>
    </section>
  );
}
