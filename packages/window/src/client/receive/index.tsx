import { useEffect, useRef } from 'preact/hooks';
import type { PeerSlice, PhaseSlice, ReceivePhase, ResultSlice } from '../../state/receive.ts';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';
import { ChooseScreen } from './Choose.tsx';
import { CodeScreen } from './Code.tsx';
import { DoneScreen, FailedScreen } from './Outcome.tsx';
import { FindScreen } from './Find.tsx';
import { TransferScreen } from './Transfer.tsx';
import { useAction } from './use-action.tsx';
import './receive.css';

const TITLES: Record<ReceivePhase, string> = {
  find: 'Receive files',
  connecting: 'Connecting',
  code: 'Pairing code',
  choose: 'Choose what to receive',
  transferring: 'Receiving',
  done: 'Received',
  failed: 'It did not work',
};

/**
 * The receiving window's screen: one step of the transfer at a time, as the app's `phase` says.
 * The page only shows the app's state and sends actions: a reload shows the same step.
 */
export function ReceiveScreen() {
  const phase = useSlice<PhaseSlice>('phase');
  const result = useSlice<ResultSlice>('result');
  const heading = useRef<HTMLHeadingElement>(null);
  const current = phase?.phase;
  // Each new step takes the focus to its heading, so keyboard and screen reader users follow.
  // (The code step focuses its field instead.)
  useEffect(() => {
    if (current && current !== 'code') heading.current?.focus();
  }, [current]);
  if (!phase) {
    return (
      <section class="panel" aria-labelledby="receive-title">
        <h1 id="receive-title">Receive files</h1>
        <p class="hint">Ferry is getting ready.</p>
      </section>
    );
  }
  return (
    <section class="panel receive" aria-labelledby="receive-title" data-phase={phase.phase}>
      <h1 id="receive-title" tabIndex={-1} ref={heading}>
        {phase.phase === 'done' && result?.declined ? 'Nothing received' : TITLES[phase.phase]}
      </h1>
      {phase.phase !== 'find' && <SenderLine address={phase.address} />}
      <Step phase={phase.phase} address={phase.address} />
    </section>
  );
}

function Step({ phase, address }: { phase: ReceivePhase; address: string | null }) {
  switch (phase) {
    case 'find':
      return <FindScreen />;
    case 'connecting':
      return <Connecting address={address} />;
    case 'code':
      return <CodeScreen />;
    case 'choose':
      return <ChooseScreen />;
    case 'transferring':
      return <TransferScreen />;
    case 'done':
      return <DoneScreen />;
    case 'failed':
      return <FailedScreen />;
  }
}

/** Who the sender is: its address, how it proved itself, and what it calls itself (a claim). */
function SenderLine({ address }: { address: string | null }) {
  const peer = useSlice<PeerSlice>('peer');
  if (!address && !peer) return null;
  return (
    <p class="recv-peer">
      <span>From </span>
      {peer?.name ? (
        <>
          <PeerText class="recv-peer-name" text={peer.name} max={60} />
          {peer.host && (
            <span class="hint">
              {' '}
              on <PeerText text={peer.host} max={60} />
            </span>
          )}
          <span class="hint"> at </span>
        </>
      ) : null}
      <span class="mono">{peer?.address || address}</span>
      {peer && (
        <span class={peer.encrypted ? 'badge badge-ok' : 'badge badge-warn'}>
          {!peer.encrypted
            ? 'Not encrypted'
            : peer.method === 'trusted'
              ? 'Remembered sender'
              : peer.method === 'resume'
                ? 'Same transfer'
                : 'Paired with the code'}
        </span>
      )}
      {peer?.rememberedAs && (
        <span class="hint">
          {' '}
          remembered as <PeerText text={peer.rememberedAs} max={60} />
        </span>
      )}
      {peer?.fingerprint && <span class="hint mono"> key {peer.fingerprint}</span>}
    </p>
  );
}

function Connecting({ address }: { address: string | null }) {
  const cancel = useAction('cancel');
  return (
    <div class="recv-step">
      <p aria-live="polite">
        {address ? (
          <>
            Connecting to <span class="mono">{address}</span>…
          </>
        ) : (
          'Connecting…'
        )}
      </p>
      <div class="row">
        <button type="button" class="button" onClick={() => cancel.run()} disabled={cancel.busy}>
          Cancel
        </button>
      </div>
      {cancel.error}
    </div>
  );
}
