import { useState } from 'preact/hooks';
import type { SendRemembered } from '../../state/send.ts';
import { ActionFailed, callAction } from '../lib/actions.ts';
import { ErrorBox } from '../lib/ErrorBox.tsx';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';

/** The remembered receivers (they need no code), each with Forget. */
export function RememberedPanel() {
  const remembered = useSlice<SendRemembered>('remembered');
  const [error, setError] = useState<string>();
  const forget = async (fingerprint: string) => {
    try {
      await callAction('forget', { fingerprint });
      setError(undefined);
    } catch (failure) {
      setError(failure instanceof ActionFailed ? failure.message : String(failure));
    }
  };
  const peers = remembered?.peers ?? [];
  return (
    <section class="panel" aria-labelledby="remembered-title">
      <h2 id="remembered-title">Remembered receivers</h2>
      {remembered?.error && (
        <ErrorBox
          title="The list cannot be read"
          message={remembered.error}
          next="Until it is fixed, every receiver needs a pairing code."
        />
      )}
      {error && <ErrorBox title="Not forgotten" message={error} />}
      {peers.length === 0 ? (
        <p class="hint">
          None. Start Ferry with --remember to remember receivers that pair with a code.
        </p>
      ) : (
        <ul class="send-remembered">
          {peers.map((peer) => (
            <li key={peer.fingerprint} class="spread">
              <span>
                <PeerText text={peer.name} max={64} /> <span class="hint">key</span>{' '}
                <code class="mono">{peer.key}</code>
                {peer.addresses[0] !== undefined && (
                  <span class="hint">
                    , last at <PeerText text={peer.addresses[0]} max={60} />
                  </span>
                )}
                <span class="hint">, since {peer.added.slice(0, 10)}</span>
              </span>
              <button
                type="button"
                class="button button-small"
                aria-label={`Forget ${peer.name}`}
                onClick={() => forget(peer.fingerprint)}
              >
                Forget
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
