import type { ProgressSlice } from '../../state/receive.ts';
import { formatBytes, plural } from '../lib/format.ts';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';
import { ProgressBar } from '../lib/ProgressBar.tsx';
import { useAction } from './use-action.tsx';

/** Progress in total and of the current file, with rate and time left; pause, resume, cancel. */
export function TransferScreen() {
  const progress = useSlice<ProgressSlice>('progress');
  const pause = useAction('pause');
  const resume = useAction('resume');
  const cancel = useAction('cancel');
  if (!progress) return <p class="hint">Starting…</p>;
  const { state, counts } = progress;
  return (
    <div class="recv-step">
      <p class="hint">
        Into <span class="mono">{progress.outDir}</span>: {plural(progress.files, 'file')},{' '}
        {formatBytes(progress.bytes)}
        {progress.resumedBytes > 0
          ? ` (${formatBytes(progress.resumedBytes)} of it was here already)`
          : ''}
      </p>
      <ProgressBar
        label="All files"
        done={progress.done}
        total={progress.bytes}
        rate={progress.rate}
        eta={progress.eta}
      />
      {progress.current && (
        <div class="recv-current">
          <ProgressBar
            label="This file"
            done={progress.current.done}
            total={progress.current.size}
          />
          <p class="recv-current-name">
            <PeerText text={progress.current.offered} max={200} />
          </p>
        </div>
      )}
      <p class="recv-state" role="status">
        {state === 'paused'
          ? 'Paused. What arrived is kept; Resume takes up where it stopped.'
          : state === 'reconnecting'
            ? `Reconnecting to the sender${progress.reconnect && progress.reconnect.attempt > 0 ? ` (attempt ${progress.reconnect.attempt})` : ''}…${progress.reconnect?.reason ? ` ${progress.reconnect.reason}` : ''}`
            : `${plural(counts.saved + counts.present, 'file')} saved${counts.failed > 0 ? `, ${counts.failed} failed` : ''}.`}
      </p>
      <div class="row recv-actions">
        {state === 'paused' ? (
          <button
            type="button"
            class="button button-primary"
            disabled={resume.busy}
            onClick={() => resume.run()}
          >
            Resume
          </button>
        ) : (
          <button
            type="button"
            class="button"
            disabled={pause.busy || !progress.pausable || state !== 'running'}
            onClick={() => pause.run()}
          >
            Pause
          </button>
        )}
        <button
          type="button"
          class="button button-danger"
          disabled={cancel.busy}
          onClick={() => cancel.run()}
        >
          Cancel
        </button>
      </div>
      {pause.error}
      {resume.error}
      {cancel.error}
      {progress.concluded.length > 0 && (
        <details class="recv-concluded">
          <summary>Files done so far</summary>
          <ul>
            {progress.concluded
              .slice()
              .reverse()
              .map((file, index) => (
                <li
                  key={`${index}:${file.offered}`}
                  class={file.state === 'failed' ? 'recv-problem' : ''}
                >
                  <PeerText text={file.offered} max={160} /> —{' '}
                  {file.state === 'failed'
                    ? `not saved: ${file.message ?? ''}`
                    : file.state === 'present'
                      ? 'already there'
                      : formatBytes(file.size)}
                </li>
              ))}
          </ul>
        </details>
      )}
    </div>
  );
}
