// A page of every shared component, served by a test window (startWindow's `assets`): the
// browser tests drive it with the keyboard, feed it hostile strings through the live state, scan
// it with axe-core and take its screenshots. The app's own page is src/client/main.tsx.
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { callAction } from '../../src/client/lib/actions.ts';
import { CodeDisplay } from '../../src/client/lib/CodeDisplay.tsx';
import { CopyButton } from '../../src/client/lib/CopyButton.tsx';
import { ErrorBox } from '../../src/client/lib/ErrorBox.tsx';
import { FileBrowser, FileBrowserDialog } from '../../src/client/lib/FileBrowser.tsx';
import { useLiveState } from '../../src/client/lib/live.ts';
import { PeerText } from '../../src/client/lib/PeerText.tsx';
import { ProgressBar } from '../../src/client/lib/ProgressBar.tsx';
import { StoppedOverlay } from '../../src/client/lib/StoppedOverlay.tsx';
import '../../src/client/styles.css';

interface Progress {
  done: number;
  total: number;
  rate: number | null;
  eta: number | null;
}

function Gallery() {
  const { slices, status } = useLiveState();
  const [picking, setPicking] = useState(false);
  const names = (slices['names'] as string[] | undefined) ?? [];
  const progress = slices['progress'] as Progress | undefined;
  return (
    <>
      <header class="top">
        <span class="brand">Ferry</span>
        <span class="top-title">Components</span>
      </header>
      <main class="main" inert={status === 'stopped'}>
        <h1>Components</h1>
        <section class="panel" aria-labelledby="names-title">
          <h2 id="names-title">Names from a peer</h2>
          <ul id="names">
            {names.map((name, i) => (
              <li key={i}>
                <PeerText text={name} />
              </li>
            ))}
          </ul>
        </section>
        <div class="grid-2">
          <section class="panel" aria-labelledby="code-title">
            <h2 id="code-title">Pairing</h2>
            <CodeDisplay code="4512-7789" fingerprint="558E F330 5F2B D3DE" />
            <div class="row">
              <code>192.168.1.20:7878</code>
              <CopyButton text="192.168.1.20:7878" label="Copy address" />
            </div>
          </section>
          <section class="panel" aria-labelledby="progress-title">
            <h2 id="progress-title">Progress</h2>
            {progress && (
              <ProgressBar
                label="report.pdf"
                done={progress.done}
                total={progress.total}
                rate={progress.rate}
                eta={progress.eta}
              />
            )}
          </section>
        </div>
        <ErrorBox
          message="The sender went away while report.pdf was received."
          next="Start ferry-send again on the other computer, then try again: the part received is kept."
          onRetry={() => callAction('retry', {})}
        />
        <section class="panel" aria-labelledby="files-title">
          <h2 id="files-title">Files</h2>
          <button type="button" class="button button-primary" onClick={() => setPicking(true)}>
            Add files
          </button>
          <FileBrowserDialog
            title="Add files and folders"
            open={picking}
            onClose={() => setPicking(false)}
            mode="both"
            multiple
            onPick={(paths) => callAction('picked', { paths })}
          />
        </section>
        <section class="panel" aria-labelledby="folder-title">
          <h2 id="folder-title">Save to</h2>
          <FileBrowser
            mode="folders"
            pickLabel="Save here"
            onPick={(paths) => callAction('folder', { paths })}
          />
        </section>
      </main>
      {status === 'stopped' && <StoppedOverlay command="ferry-send --ui" />}
    </>
  );
}

render(<Gallery />, document.getElementById('root')!);
