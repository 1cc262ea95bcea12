import { useState } from 'preact/hooks';
import type { SendListening, SendOffer, SendPairing, SendRefusals } from '../../state/send.ts';
import { ActionFailed, callAction } from '../lib/actions.ts';
import { CodeDisplay, Fingerprint } from '../lib/CodeDisplay.tsx';
import { CopyButton } from '../lib/CopyButton.tsx';
import { Dialog } from '../lib/Dialog.tsx';
import { ErrorBox } from '../lib/ErrorBox.tsx';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';
import { LinkPanel } from './LinkPanel.tsx';
import { OfferPanel } from './OfferPanel.tsx';
import { ReceiversPanel } from './ReceiversPanel.tsx';
import { RememberedPanel } from './RememberedPanel.tsx';
import './send.css';

/** The sending window's screen: the offer, how to connect, every receiver, and stop. */
export function SendScreen() {
  const offer = useSlice<SendOffer>('offer');
  return (
    <div class="send">
      <h1 class="visually-hidden">Send files with Ferry</h1>
      <OfferPanel offer={offer} />
      <ConnectPanel offered={(offer?.items.length ?? 0) > 0} />
      <LinkPanel />
      <ReceiversPanel />
      <RememberedPanel />
      <StopPanel />
    </div>
  );
}

/** The addresses with their commands and copy buttons, the pairing code large, and the key. */
function ConnectPanel({ offered }: { offered: boolean }) {
  const listening = useSlice<SendListening>('listening');
  const pairing = useSlice<SendPairing>('pairing');
  const refusals = useSlice<SendRefusals>('refusals');
  return (
    <section class="panel" aria-labelledby="connect-title">
      <h2 id="connect-title">On the other machine</h2>
      {!listening ? (
        <p class="hint">
          {offered
            ? 'Starting to listen…'
            : 'Add files first: receivers can connect once something is offered.'}
        </p>
      ) : (
        <>
          <p>Run one of these, or pick this computer in ferry-receive's list of senders:</p>
          <ul class="send-addresses">
            {listening.addresses.map((a) => (
              <li key={a.address} class="send-address">
                <code class="mono">{a.command}</code>
                {a.interface && <span class="hint"> ({a.interface})</span>}
                <CopyButton text={a.command} label="Copy command" />
              </li>
            ))}
          </ul>
          {listening.loopbackOnly && (
            <p class="hint">
              This computer has no network address: only ferry-receive on this computer can connect.
            </p>
          )}
        </>
      )}
      {pairing && listening && <Pairing pairing={pairing} />}
      {refusals && refusals.total > 0 && (
        <details class="send-refusals">
          <summary>
            {refusals.total} connection{refusals.total === 1 ? '' : 's'} refused
          </summary>
          <ul>
            {refusals.recent.map((r, i) => (
              <li key={i}>
                <PeerText text={r.peer} max={60} />: {r.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function Pairing({ pairing }: { pairing: SendPairing }) {
  return (
    <div class="send-pairing" aria-live="polite">
      {pairing.code ? (
        <CodeDisplay code={pairing.code} fingerprint={pairing.fingerprint ?? undefined} />
      ) : (
        pairing.fingerprint && <Fingerprint value={pairing.fingerprint} label="This sender's key" />
      )}
      {pairing.code && (
        <p class="hint">
          Give this code to the receiver. It works for one pairing; a new one follows.
        </p>
      )}
      {pairing.failed > 0 && !pairing.closed && pairing.limit !== null && (
        <p class="send-warn">
          A receiver gave a wrong pairing code ({pairing.failed} of {pairing.limit} attempts).
        </p>
      )}
      {pairing.closed && (
        <ErrorBox
          title="Pairing is off"
          message={`${pairing.failed} wrong pairing attempts: pairing is off until Ferry restarts.`}
          next="Remembered receivers can still connect. Stop and start Ferry again for a new code."
        />
      )}
      {pairing.trustError && (
        <ErrorBox
          title="The remembered receivers cannot be read"
          message={pairing.trustError}
          next="Until then every receiver needs a pairing code."
        />
      )}
    </div>
  );
}

/** Stop, after asking: it ends Ferry as Ctrl-C in its terminal does. */
function StopPanel() {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string>();
  const stop = async () => {
    try {
      await callAction('stop');
      setAsking(false);
    } catch (failure) {
      setError(failure instanceof ActionFailed ? failure.message : String(failure));
    }
  };
  return (
    <section class="panel send-stop" aria-labelledby="stop-title">
      <h2 id="stop-title">Stop</h2>
      <p class="hint">
        Stops Ferry: no one can connect any more, and receivers taking files are cut off.
      </p>
      <button type="button" class="button button-danger" onClick={() => setAsking(true)}>
        Stop Ferry
      </button>
      <Dialog title="Stop Ferry?" open={asking} onClose={() => setAsking(false)}>
        <p>Receivers taking files now are cut off; they keep the files they had finished.</p>
        {error && <ErrorBox message={error} />}
        <div class="row">
          <button type="button" class="button button-danger" onClick={stop}>
            Stop
          </button>
          <button type="button" class="button button-quiet" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </div>
      </Dialog>
    </section>
  );
}
