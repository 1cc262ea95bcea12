import type { SendReceiver } from '../../state/send.ts';
import { formatBytes, plural } from '../lib/format.ts';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';
import { ProgressBar } from '../lib/ProgressBar.tsx';
import { authWords, failureWords, stateLabel, tookWords } from './words.ts';

/** Every receiver: who, how it got in, what it takes, its progress, and how it ended. */
export function ReceiversPanel() {
  const receivers = useSlice<SendReceiver[]>('receivers') ?? [];
  const active = receivers.filter((r) => r.state !== 'done' && r.state !== 'failed').length;
  return (
    <section class="panel" aria-labelledby="receivers-title">
      <h2 id="receivers-title">Receivers{receivers.length > 0 ? ` (${active} active)` : ''}</h2>
      {receivers.length === 0 ? (
        <p class="hint">No receiver yet. They appear here as they connect.</p>
      ) : (
        <ol class="send-receivers">
          {[...receivers].reverse().map((r) => (
            <ReceiverCard key={r.client} receiver={r} />
          ))}
        </ol>
      )}
    </section>
  );
}

function ReceiverCard({ receiver: r }: { receiver: SendReceiver }) {
  const state = stateLabel(r);
  const label = r.number === null ? 'A receiver' : `#${r.number}`;
  const failure = failureWords(r);
  return (
    <li
      class={`send-receiver send-receiver-${r.state}`}
      data-client={r.client}
      aria-label={`Receiver ${label}`}
    >
      <div class="spread">
        <span class="send-receiver-who">
          <strong>{label}</strong>{' '}
          {r.name && (
            <>
              <PeerText class="send-receiver-name" text={r.name} max={64} />{' '}
            </>
          )}
          <span class="hint">
            at <PeerText text={r.peer} max={60} />
          </span>
        </span>
        <span class={`badge badge-${state.tone}`}>{state.text}</span>
      </div>
      {r.auth && (
        <p class="send-line">
          {authWords(r.auth)}
          {r.auth.method === 'trusted' && r.auth.rememberedAs !== null && (
            <>
              {' as '}“<PeerText text={r.auth.rememberedAs} max={64} />”
            </>
          )}
          , key <code class="mono">{r.auth.fingerprint}</code>
        </p>
      )}
      {r.remembered && <Remembered remembered={r.remembered} />}
      {(r.state === 'transferring' ||
        r.state === 'done' ||
        (r.state === 'failed' && r.total > 0)) && (
        <p class="send-line">
          {r.state === 'done'
            ? tookWords(r)
            : `Taking ${plural(r.files, 'file')} (${formatBytes(r.total)})`}
          {r.failed > 0 ? `, ${r.failed} failed` : ''}
        </p>
      )}
      {r.state === 'transferring' && (
        <ProgressBar
          label={`${label} progress`}
          done={r.bytes}
          total={r.total}
          rate={r.rate}
          eta={r.eta}
        />
      )}
      {r.resumed && (
        <p class="send-line">
          Resumed: {plural(r.resumed.files, 'file')}, {formatBytes(r.resumed.bytes)} not sent again
        </p>
      )}
      {r.restarted.length > 0 && (
        <ul class="send-files">
          {r.restarted.map((path) => (
            <li key={path}>
              Sent whole, from its first byte: <PeerText text={path} /> (it changed since the
              interrupted transfer, or the receiver's part differs)
            </li>
          ))}
        </ul>
      )}
      {r.failedFiles.length > 0 && (
        <ul class="send-files">
          {r.failedFiles.map((f) => (
            <li key={f.path}>
              Did not save <PeerText text={f.path} /> (<PeerText text={f.code} max={64} />)
            </li>
          ))}
        </ul>
      )}
      {r.state === 'failed' && (
        <p class={r.error?.resumable ? 'send-warn' : 'send-error'}>
          {failure.text}
          {failure.peerMessage !== null && (
            <>
              {' '}
              <PeerText text={failure.peerMessage} />
            </>
          )}
        </p>
      )}
    </li>
  );
}

function Remembered({ remembered }: { remembered: NonNullable<SendReceiver['remembered']> }) {
  if (remembered.result === 'added' || remembered.result === 'updated') {
    return (
      <p class="send-line">
        Remembered as “<PeerText text={remembered.name} max={64} />
        ”: it needs no code next time.
      </p>
    );
  }
  if (remembered.result === 'conflict') {
    return (
      <p class="send-warn">
        Not remembered: another receiver is remembered as “
        <PeerText text={remembered.name} max={64} />
        ”. Forget that one below first.
      </p>
    );
  }
  return (
    <p class="send-warn">
      Could not remember it:{' '}
      {remembered.reason ?? 'the list of remembered receivers could not be saved'}
    </p>
  );
}
