import type { ErrorSlice, ResultSlice } from '../../state/receive.ts';
import { ErrorBox } from '../lib/ErrorBox.tsx';
import { formatBytes, plural } from '../lib/format.ts';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';
import { useAction } from './use-action.tsx';

/** The result: each saved file with its size and SHA-256, "open folder", receive again, quit. */
export function DoneScreen() {
  const result = useSlice<ResultSlice>('result');
  const open = useAction('open-folder');
  const again = useAction('again');
  const quit = useAction('quit');
  if (!result) return <p class="hint">Finishing…</p>;
  const saved = [...result.saved, ...result.present];
  return (
    <div class="recv-step">
      {result.declined ? (
        <p>You declined the offer: nothing was received.</p>
      ) : (
        <p role="status">
          {plural(result.saved.length, 'file')} saved
          {result.present.length > 0 ? `, ${result.present.length} already there` : ''}
          {result.failed.length > 0 ? `, ${result.failed.length} not saved` : ''}
          {result.outDir ? (
            <>
              {' '}
              in <span class="mono">{result.outDir}</span>
            </>
          ) : null}
          . Each was checked with its SHA-256.
        </p>
      )}
      {saved.length > 0 && (
        <table class="recv-result">
          <caption class="visually-hidden">Files received</caption>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Size</th>
              <th scope="col">SHA-256</th>
            </tr>
          </thead>
          <tbody>
            {saved.map((file) => (
              <tr key={file.path}>
                <td>
                  <PeerText text={inFolder(file.path, result.outDir)} max={200} />
                  {result.present.includes(file) && <span class="badge"> already there</span>}
                </td>
                <td class="recv-size">{formatBytes(file.size)}</td>
                <td class="mono recv-digest">{file.sha256}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result.failed.length > 0 && (
        <div class="recv-problem">
          <h2>Not saved</h2>
          <ul>
            {result.failed.map((file) => (
              <li key={file.offered}>
                <PeerText text={file.offered} max={200} />:{' '}
                <PeerText text={file.message} max={300} /> ({file.code})
              </li>
            ))}
          </ul>
          <p>Receive again to try those files once more.</p>
        </div>
      )}
      <div class="row recv-actions">
        {result.outDir && !result.declined && (
          <button type="button" class="button button-primary" onClick={() => open.run()}>
            Open folder
          </button>
        )}
        <button type="button" class="button" onClick={() => again.run()}>
          Receive more
        </button>
        <button type="button" class="button button-quiet" onClick={() => quit.run()}>
          Quit
        </button>
      </div>
      {open.error}
      {again.error}
    </div>
  );
}

/** What failed, in plain words, what to do next, and Try again without starting over. */
export function FailedScreen() {
  const error = useSlice<ErrorSlice>('error');
  const retry = useAction('retry');
  const again = useAction('again');
  const quit = useAction('quit');
  if (!error) return <p class="hint">…</p>;
  return (
    <div class="recv-step">
      <ErrorBox title="The transfer did not complete" message={error.message} next={error.next}>
        {error.kept && (
          <p class="hint">
            Kept for later: {plural(error.kept.files, 'file')} partly received (
            {formatBytes(error.kept.heldBytes)}) in <span class="mono">{error.kept.dir}</span>.
          </p>
        )}
      </ErrorBox>
      <div class="row recv-actions">
        {error.retry && (
          <button
            type="button"
            class="button button-primary"
            disabled={retry.busy}
            onClick={() => retry.run()}
          >
            Try again
          </button>
        )}
        <button type="button" class="button" onClick={() => again.run()}>
          Start over
        </button>
        <button type="button" class="button button-quiet" onClick={() => quit.run()}>
          Quit
        </button>
      </div>
      {retry.error}
      {again.error}
    </div>
  );
}

/** A saved file's path, relative to the folder it was saved in when it is inside it. */
function inFolder(file: string, folder: string | null): string {
  if (!folder) return file;
  const sep = folder.includes('\\') && !folder.includes('/') ? '\\' : '/';
  const prefix = folder.endsWith(sep) ? folder : folder + sep;
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}
