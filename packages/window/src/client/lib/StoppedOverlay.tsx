/** What the page shows once the app behind it has stopped: it cannot do anything more. */
export function StoppedOverlay({ command }: { command: string }) {
  return (
    <div
      class="stopped-overlay"
      role="alertdialog"
      aria-modal="true"
      aria-labelledby="stopped-title"
      aria-describedby="stopped-text"
    >
      <div class="stopped-card">
        <h2 id="stopped-title">Ferry has stopped</h2>
        <p id="stopped-text">
          This window no longer does anything. Start it again with <code>{command}</code> and open
          the address it prints.
        </p>
      </div>
    </div>
  );
}
