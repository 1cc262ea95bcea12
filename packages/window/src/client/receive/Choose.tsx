import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ChoiceSlice, OfferEntryView, OfferSlice, ReportSlice } from '../../state/receive.ts';
import { FileBrowserDialog } from '../lib/FileBrowser.tsx';
import { Icon } from '../lib/Icon.tsx';
import { formatBytes, plural } from '../lib/format.ts';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';
import { useAction } from './use-action.tsx';

/** Entries listed under one item at most; the rest are counted. */
const MAX_ROWS = 300;

/**
 * The offer as a tree with check boxes and sizes, the folder to save into (picked with the folder
 * browser, which can make a folder and shows the free space), and what that folder holds already.
 */
export function ChooseScreen() {
  const offer = useSlice<OfferSlice>('offer');
  const choice = useSlice<ChoiceSlice>('choice');
  const report = useSlice<ReportSlice>('report');
  const inspect = useAction('inspect');
  const accept = useAction('accept');
  const decline = useAction('decline');
  const [items, setItems] = useState<ReadonlySet<number>>(new Set(choice?.items ?? []));
  const [out, setOut] = useState(choice?.out ?? '');
  const [browsing, setBrowsing] = useState(false);
  const [resume, setResume] = useState(true);
  const [sent, setSent] = useState(false);
  const chosen = useMemo(() => [...items].sort((a, b) => a - b), [items]);
  // What the folder holds for these items: asked again whenever the choice changes.
  // (The app looked at the folder it suggests already, if it exists.)
  useEffect(() => {
    if (out === choice?.out && chosen.join() === choice.items.join()) return;
    if (out !== '' && chosen.length > 0) inspect.run({ items: chosen, out });
  }, [chosen.join(), out]);
  if (!offer) return <p class="hint">Waiting for the offer…</p>;
  const marks = new Map((report?.marks ?? []).map((mark) => [mark.id, mark]));
  const current =
    report && report.outDir !== '' && report.items.join() === chosen.join() ? report : null;
  const files = offer.items
    .filter((item) => items.has(item.index))
    .reduce((sum, item) => sum + item.files, 0);
  const bytes = offer.items
    .filter((item) => items.has(item.index))
    .reduce((sum, item) => sum + item.bytes, 0);
  const toggle = (index: number) => {
    const next = new Set(items);
    if (next.has(index)) next.delete(index);
    else next.add(index);
    setItems(next);
  };
  const all = items.size === offer.items.length;
  return (
    <form
      class="recv-step"
      onSubmit={async (event) => {
        event.preventDefault();
        setSent(true);
        const done = await accept.run({ items: chosen, out, resume });
        if (done === undefined) setSent(false);
      }}
    >
      <p>
        The sender offers {plural(offer.files, 'file')} ({formatBytes(offer.bytes)})
        {offer.folders > 0 ? ` in ${plural(offer.folders, 'folder')}` : ''}. Choose what to take.
      </p>
      <fieldset class="recv-offer">
        <legend>What the sender offers</legend>
        <label class="checkbox recv-all">
          <input
            type="checkbox"
            checked={all}
            onChange={() => setItems(new Set(all ? [] : offer.items.map((item) => item.index)))}
          />
          Everything
        </label>
        <ul class="recv-tree">
          {offer.items.map((item) => {
            const below = offer.entries.filter(
              (entry) => entry.item === item.index && entry.path !== item.name,
            );
            return (
              <li key={item.index} class="recv-item">
                <div class="recv-item-row">
                  <label class="checkbox recv-item-label">
                    <input
                      type="checkbox"
                      checked={items.has(item.index)}
                      onChange={() => toggle(item.index)}
                    />
                    <Icon name={item.kind === 'dir' ? 'folder' : 'file'} />
                    <PeerText text={item.name} max={120} />
                  </label>
                  <span class="recv-size">
                    {item.kind === 'dir' ? `${plural(item.files, 'file')}, ` : ''}
                    {formatBytes(item.bytes)}
                  </span>
                  {item.kind === 'file' && (
                    <Mark
                      entry={offer.entries.find((entry) => entry.path === item.name)}
                      marks={marks}
                    />
                  )}
                  {item.hidden && <span class="badge badge-warn">hidden name</span>}
                </div>
                {below.length > 0 && (
                  <details class="recv-below">
                    <summary>Show the {plural(below.length, 'entry', 'entries')} inside</summary>
                    <ul class="recv-entries">
                      {below.slice(0, MAX_ROWS).map((entry) => (
                        <li key={entry.id} class="recv-entry">
                          <PeerText text={entry.path.slice(item.name.length + 1)} max={160} />
                          <span class="recv-size">
                            {entry.kind === 'dir' ? 'folder' : formatBytes(entry.size)}
                          </span>
                          <Mark entry={entry} marks={marks} />
                        </li>
                      ))}
                    </ul>
                    {below.length > MAX_ROWS && (
                      <p class="hint">
                        …and {plural(below.length - MAX_ROWS, 'more entry', 'more entries')}.
                      </p>
                    )}
                  </details>
                )}
              </li>
            );
          })}
        </ul>
        {offer.renamed.length > 0 && (
          <div class="hint">
            <p>This system cannot store some names as offered; they are saved as:</p>
            <ul>
              {offer.renamed.slice(0, 20).map((entry) => (
                <li key={entry.offered}>
                  <PeerText text={entry.offered} /> → <PeerText text={entry.local} />
                </li>
              ))}
            </ul>
          </div>
        )}
      </fieldset>
      <fieldset class="recv-dest">
        <legend>Save into</legend>
        <div class="row">
          <span class="mono recv-folder" id="recv-folder">
            {out || 'No folder chosen yet'}
          </span>
          <button
            type="button"
            class="button"
            aria-describedby="recv-folder"
            onClick={() => setBrowsing(true)}
          >
            Choose folder…
          </button>
        </div>
        {current && <Report report={current} resume={resume} setResume={setResume} />}
        {inspect.busy && <p class="hint">Looking at the folder…</p>}
        {inspect.error}
      </fieldset>
      <div class="row recv-actions">
        <button
          type="submit"
          class="button button-primary"
          disabled={
            sent ||
            accept.busy ||
            chosen.length === 0 ||
            out === '' ||
            current?.enoughSpace === false
          }
        >
          {chosen.length === 0
            ? 'Choose something to receive'
            : `Receive ${plural(files, 'file')} (${formatBytes(bytes)})`}
        </button>
        <button
          type="button"
          class="button button-quiet"
          disabled={sent}
          onClick={() => decline.run()}
        >
          Decline
        </button>
      </div>
      {sent && !accept.error && (
        <p class="hint" aria-live="polite">
          Starting…
        </p>
      )}
      {accept.error}
      {decline.error}
      <FileBrowserDialog
        title="Choose the folder to save into"
        open={browsing}
        onClose={() => setBrowsing(false)}
        mode="folders"
        start={out || undefined}
        pickLabel="Save here"
        onPick={(paths) => {
          if (paths[0]) setOut(paths[0]);
        }}
      />
    </form>
  );
}

/** What the chosen folder holds of an entry: the whole file, or part of it. */
function Mark({
  entry,
  marks,
}: {
  entry: OfferEntryView | undefined;
  marks: Map<number, { mark: string; held: number }>;
}) {
  const mark = entry ? marks.get(entry.id) : undefined;
  if (!entry || !mark) return null;
  return mark.mark === 'present' ? (
    <span class="badge badge-ok">already there</span>
  ) : (
    <span class="badge">
      {formatBytes(mark.held)} of {formatBytes(entry.size)} received
    </span>
  );
}

/** What saving into the folder would do: space, names taken, entries it cannot hold, partial data. */
function Report({
  report,
  resume,
  setResume,
}: {
  report: NonNullable<ReportSlice>;
  resume: boolean;
  setResume: (value: boolean) => void;
}) {
  return (
    <div class="recv-report" aria-live="polite">
      <p class={report.enoughSpace ? 'hint' : 'recv-problem'}>
        {report.enoughSpace ? 'Needs about ' : 'Not enough free space: needs about '}
        {formatBytes(Math.max(0, report.neededBytes))}
        {report.freeBytes !== null ? `; ${formatBytes(report.freeBytes)} free there.` : '.'}
        {!report.enoughSpace && ' Free some space, or choose another folder or fewer items.'}
      </p>
      {report.present && report.present.files > 0 && (
        <p class="hint">
          {plural(report.present.files, 'file')} ({formatBytes(report.present.bytes)}) may be there
          already: the sender confirms each by its digest, and nothing is written for them.
        </p>
      )}
      {report.resumable && (
        <label class="checkbox">
          <input type="checkbox" checked={resume} onChange={() => setResume(!resume)} />
          Resume {plural(report.resumable.files, 'file')} partly received (
          {formatBytes(report.resumable.heldBytes)} of {formatBytes(report.resumable.totalBytes)});
          unticked, they start over
        </label>
      )}
      {report.renamed.length > 0 && (
        <div class="hint">
          <p>Already in the folder, so saved under a new name:</p>
          <ul>
            {report.renamed.slice(0, 20).map((entry) => (
              <li key={entry.offered}>
                <PeerText text={entry.offered} /> → <PeerText text={entry.local} />
              </li>
            ))}
          </ul>
        </div>
      )}
      {report.unsavable.length > 0 && (
        <div class="recv-problem">
          <p>
            {plural(report.unsavable.length, 'entry', 'entries')} cannot be saved in this folder and
            will fail:
          </p>
          <ul>
            {report.unsavable.slice(0, 20).map((entry) => (
              <li key={entry.path}>
                <PeerText text={entry.path} />: {entry.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
      {report.hiddenInHome && (
        <p class="recv-problem">
          Some names start with a dot: saved in your home folder they would change how programs
          behave there. Choose another folder unless you mean it.
        </p>
      )}
    </div>
  );
}
