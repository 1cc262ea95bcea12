import { useState } from 'preact/hooks';
import type { SendOffer } from '../../state/send.ts';
import { ActionFailed, callAction } from '../lib/actions.ts';
import { ErrorBox } from '../lib/ErrorBox.tsx';
import { FileBrowserDialog } from '../lib/FileBrowser.tsx';
import { formatBytes, plural } from '../lib/format.ts';
import { Icon } from '../lib/Icon.tsx';
import { PeerText } from '../lib/PeerText.tsx';
import { useDrop } from './DropZone.tsx';

/** The offer: its items with sizes and a total, Add files, Remove, and what was left out. */
export function OfferPanel({ offer }: { offer: SendOffer | undefined }) {
  const [browsing, setBrowsing] = useState(false);
  const [error, setError] = useState<string>();
  const drop = useDrop();
  const [busy, setBusy] = useState(false);
  const run = async (name: 'add' | 'remove', paths: string[]) => {
    setBusy(true);
    try {
      await callAction(name, { paths });
      setError(undefined);
    } catch (failure) {
      setError(failure instanceof ActionFailed ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };
  const items = offer?.items ?? [];
  return (
    <section
      class={`panel send-offer${drop.over ? ' send-offer-over' : ''}`}
      aria-labelledby="offer-title"
      {...drop.handlers}
    >
      <div class="spread">
        <h2 id="offer-title">What you offer</h2>
        <button
          type="button"
          class="button button-primary"
          onClick={() => setBrowsing(true)}
          disabled={busy}
        >
          Add files…
        </button>
      </div>
      {drop.view}
      {error && <ErrorBox title="That could not be offered" message={error} />}
      {items.length === 0 ? (
        <p class="hint">
          Nothing yet. Add files or folders with the button above, or drop them here.
        </p>
      ) : (
        <>
          <ul class="send-items" aria-busy={busy}>
            {items.map((item) => (
              <li key={item.path} class="send-item">
                <Icon name={item.kind === 'dir' ? 'folder' : 'file'} />
                <span class="send-item-name">
                  <PeerText text={item.name} max={80} />
                  <span class="hint send-item-path">
                    <PeerText text={item.path} max={120} />
                  </span>
                </span>
                <span class="send-item-size">
                  {item.kind === 'dir' ? `Folder, ${plural(item.files, 'file')}, ` : ''}
                  {formatBytes(item.bytes)}
                </span>
                <button
                  type="button"
                  class="button button-small button-quiet"
                  aria-label={`Remove ${item.name}`}
                  disabled={busy}
                  onClick={() => run('remove', [item.path])}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <p class="send-total">
            Total: {plural(offer?.files ?? 0, 'file')}, {formatBytes(offer?.bytes ?? 0)} in{' '}
            {plural(items.length, 'item')}
          </p>
        </>
      )}
      {offer && offer.skipped.length > 0 && (
        <details>
          <summary>{plural(offer.skipped.length, 'entry', 'entries')} left out</summary>
          <ul>
            {offer.skipped.map((s) => (
              <li key={s.path}>
                <PeerText text={s.path} />: {s.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      <FileBrowserDialog
        title="Add files and folders"
        open={browsing}
        onClose={() => setBrowsing(false)}
        mode="both"
        multiple
        pickLabel="Add"
        onPick={(paths) => void run('add', paths)}
      />
    </section>
  );
}
