import { useState } from 'preact/hooks';
import type { SendersSlice } from '../../state/receive.ts';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';
import { useAction } from './use-action.tsx';

/** The senders found on the network, and a field for an address typed by hand. */
export function FindScreen() {
  const senders = useSlice<SendersSlice>('senders');
  const connect = useAction('connect');
  const search = useAction('search');
  const [address, setAddress] = useState('');
  const found = senders?.found ?? [];
  return (
    <div class="recv-step">
      <h2 id="found-title">Senders on this network</h2>
      {senders?.searching && (
        <p class="hint" aria-live="polite">
          Looking for senders…
        </p>
      )}
      {senders?.problem && <p class="hint">{senders.problem}</p>}
      {!senders?.searching && !senders?.problem && found.length === 0 && (
        <p class="hint" aria-live="polite">
          No sender found. It may be on another subnet, a firewall may drop multicast, or the Wi-Fi
          may keep its devices apart: type the address ferry-send shows below.
        </p>
      )}
      {found.length > 0 && (
        <ul class="recv-senders" aria-labelledby="found-title">
          {found.map((sender) => (
            <li key={sender.number} class="recv-sender">
              <button
                type="button"
                class="button recv-sender-button"
                disabled={!sender.compatible || connect.busy}
                onClick={() => connect.run({ number: sender.number })}
              >
                <span class="recv-sender-name">
                  <PeerText text={sender.name} max={80} />
                </span>
                <span class="hint">
                  <PeerText text={sender.host} max={60} /> ·{' '}
                  <span class="mono">{sender.address}</span>
                  {sender.key && <span class="mono"> · key {sender.key.slice(0, 8)}…</span>}
                </span>
                <span class="recv-sender-badges">
                  {!sender.compatible ? (
                    <span class="badge badge-danger">Another version</span>
                  ) : sender.remembered ? (
                    <span class="badge badge-ok">Remembered</span>
                  ) : (
                    <span class="badge">New</span>
                  )}
                  {!sender.encrypted && <span class="badge badge-warn">Not encrypted</span>}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="row">
        <button
          type="button"
          class="button button-quiet"
          disabled={senders?.searching || search.busy}
          onClick={() => search.run()}
        >
          Search again
        </button>
      </div>
      {search.error}
      <form
        class="recv-address"
        onSubmit={(event) => {
          event.preventDefault();
          if (address.trim() !== '') connect.run({ address: address.trim() });
        }}
      >
        <div class="field">
          <label for="recv-address">Or type the address ferry-send shows</label>
          <div class="row">
            <input
              id="recv-address"
              class="input mono"
              type="text"
              inputMode="url"
              autoComplete="off"
              spellcheck={false}
              placeholder="192.168.1.20:7878"
              value={address}
              onInput={(event) => setAddress((event.target as HTMLInputElement).value)}
            />
            <button
              type="submit"
              class="button button-primary"
              disabled={connect.busy || address.trim() === ''}
            >
              Connect
            </button>
          </div>
        </div>
      </form>
      {connect.error}
    </div>
  );
}
