import type { SendLink } from '../../state/send.ts';
import { CopyButton } from '../lib/CopyButton.tsx';
import { formatBytes } from '../lib/format.ts';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';
import { ProgressBar } from '../lib/ProgressBar.tsx';

/** With --link: the link's URLs with copy buttons, the first one's QR code, and each download. */
export function LinkPanel() {
  const link = useSlice<SendLink>('link');
  if (!link) return null;
  return (
    <section class="panel" aria-labelledby="link-title">
      <h2 id="link-title">Share by link</h2>
      {link.urls.length === 0 ? (
        <p class="hint">The link appears once Ferry listens.</p>
      ) : (
        <>
          <p>A browser or curl on the other machine downloads from this link:</p>
          <ul class="send-addresses">
            {link.urls.map((url) => (
              <li key={url} class="send-address">
                <code class="mono">{url}</code>
                <CopyButton text={url} label="Copy link" />
              </li>
            ))}
          </ul>
          {link.qr && (
            <img
              class="send-qr"
              src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(link.qr)}`}
              alt={`QR code of ${link.urls[0]}`}
              width={200}
              height={200}
            />
          )}
          <p class="hint">
            Plain HTTP: others on this network can read the link; ferry-receive encrypts.
          </p>
          {link.limit !== null && (
            <p class="hint">
              The link ends after {link.limit} complete download{link.limit === 1 ? '' : 's'}.
            </p>
          )}
        </>
      )}
      {link.ended === 'downloads' && (
        <p class="send-warn">
          The link has ended: its downloads were made. ferry-receive can still connect.
        </p>
      )}
      {link.downloads.length > 0 && (
        <ol class="send-downloads">
          {[...link.downloads].reverse().map((d) => (
            <li key={d.id}>
              <p class="send-line">
                Download {d.id} by <PeerText text={d.peer} max={60} />
                {d.agent && (
                  <>
                    {' '}
                    (<PeerText text={d.agent} max={60} />)
                  </>
                )}
                : <PeerText text={d.what} />
              </p>
              {d.state === 'running' && (
                <ProgressBar label={`Download ${d.id}`} done={d.bytes} total={d.total} />
              )}
              {d.state === 'done' && <p class="hint">Complete: {formatBytes(d.bytes)}.</p>}
              {d.state === 'stopped' && (
                <p class="hint">
                  {`Stopped by the downloader after ${formatBytes(d.bytes)} of ${formatBytes(d.total)}; it can resume.`}
                </p>
              )}
              {d.state === 'failed' && (
                <p class="send-error">
                  Failed: <PeerText text={d.message ?? ''} />. Offer the file again to share it.
                </p>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
