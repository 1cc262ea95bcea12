import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ErrorInfo, FsEntry, FsListing } from '../../state/common.ts';
import { ActionFailed, fs } from './actions.ts';
import { Dialog } from './Dialog.tsx';
import { ErrorBox } from './ErrorBox.tsx';
import { formatBytes, formatTime } from './format.ts';
import { Icon } from './Icon.tsx';
import { PeerText } from './PeerText.tsx';

/** What a file browser lets the user pick. */
export type PickMode = 'files' | 'folders' | 'both';

/** Options of {@link FileBrowser}. */
export interface FileBrowserProps {
  /** `files`: files only (folders are opened); `folders`: folders only; `both`: either. */
  mode: PickMode;
  /** Several entries may be picked at once. */
  multiple?: boolean;
  /** Where to start; the user's home when absent. */
  start?: string | undefined;
  /** The pick button's words ("Add", "Save here"). */
  pickLabel?: string;
  /** Called with the absolute paths picked. */
  onPick: (paths: string[]) => void;
  onCancel?: (() => void) | undefined;
}

function toError(error: unknown): ErrorInfo {
  return error instanceof ActionFailed
    ? error.info
    : { code: 'ERR_CLIENT', message: String(error) };
}

function join(listing: FsListing, name: string): string {
  return listing.path.endsWith(listing.sep)
    ? listing.path + name
    : listing.path + listing.sep + name;
}

/**
 * A browser of this machine's folders, as the app's process sees them: home, recent folders,
 * roots, hidden entries on request, a new folder, the free space, and multiple selection.
 * Keyboard: arrows move, Space selects, Enter opens a folder (or picks), Backspace goes up.
 */
export function FileBrowser({
  mode,
  multiple = false,
  start,
  pickLabel,
  onPick,
  onCancel,
}: FileBrowserProps) {
  const id = useId();
  const [listing, setListing] = useState<FsListing>();
  const [error, setError] = useState<ErrorInfo>();
  const [hidden, setHidden] = useState(false);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [active, setActive] = useState(0);
  const [free, setFree] = useState<number | null>(null);
  const [typed, setTyped] = useState('');
  const [newName, setNewName] = useState<string | null>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const newRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (newName !== null) newRef.current?.focus();
  }, [newName === null]);

  // Only the latest listing asked for is shown: the first folder can answer after the user has
  // already typed another and pressed Go, and must not replace it.
  const latest = useRef(0);
  // What the user typed in the folder field since the last load was asked for: a listing that
  // answers meanwhile must not replace it before they press Go.
  const typing = useRef(false);
  const load = useCallback(
    async (path: string | undefined, showHidden = hidden, select?: string) => {
      const request = ++latest.current;
      typing.current = false;
      try {
        const next = await fs.list(
          path === undefined ? { hidden: showHidden } : { path, hidden: showHidden },
        );
        if (request !== latest.current) return;
        setListing(next);
        if (!typing.current) setTyped(next.path);
        setError(undefined);
        const shown = visible(next.entries, mode);
        const index =
          select === undefined
            ? 0
            : Math.max(
                0,
                shown.findIndex((e) => e.name === select),
              );
        setSelected(select === undefined ? new Set() : new Set([select]));
        setActive(index);
        setFree(null);
        fs.space(next.path).then(
          (answer) => {
            if (request === latest.current) setFree(answer.free);
          },
          () => {
            if (request === latest.current) setFree(null);
          },
        );
      } catch (failure) {
        if (request === latest.current) setError(toError(failure));
      }
    },
    [hidden, mode],
  );

  useEffect(() => {
    // Effects run after the first paint, which a busy page can put off: a folder typed and
    // asked for (Go) by then is not replaced by the first one.
    if (latest.current === 0) load(start);
  }, []);

  const entries = listing ? visible(listing.entries, mode) : [];
  const selectable = (entry: FsEntry): boolean =>
    mode === 'both'
      ? entry.kind !== 'other'
      : mode === 'files'
        ? entry.kind === 'file'
        : entry.kind === 'dir';

  const toggle = (entry: FsEntry): void => {
    if (!selectable(entry)) return;
    const next = new Set(multiple ? selected : []);
    if (selected.has(entry.name)) next.delete(entry.name);
    else next.add(entry.name);
    setSelected(next);
  };

  const open = (entry: FsEntry): void => {
    if (listing && entry.kind === 'dir') load(join(listing, entry.name));
  };

  const pick = (): void => {
    if (!listing) return;
    let paths = [...selected].map((name) => join(listing, name));
    if (paths.length === 0 && mode === 'folders') paths = [listing.path];
    if (paths.length === 0) return;
    const folder = mode === 'folders' && paths.length === 1 ? paths[0]! : listing.path;
    fs.recent(folder).catch(() => {});
    onPick(paths);
  };

  const onKey = (event: KeyboardEvent): void => {
    const entry = entries[active];
    const move = (to: number) => {
      event.preventDefault();
      const index = Math.max(0, Math.min(entries.length - 1, to));
      setActive(index);
      document.getElementById(`${id}-row-${index}`)?.scrollIntoView({ block: 'nearest' });
    };
    switch (event.key) {
      case 'ArrowDown':
        move(active + 1);
        break;
      case 'ArrowUp':
        if (event.altKey && listing?.parent) {
          event.preventDefault();
          load(listing.parent);
        } else move(active - 1);
        break;
      case 'Home':
        move(0);
        break;
      case 'End':
        move(entries.length - 1);
        break;
      case 'PageDown':
        move(active + 10);
        break;
      case 'PageUp':
        move(active - 10);
        break;
      case ' ':
        event.preventDefault();
        if (entry) toggle(entry);
        break;
      case 'Enter':
        event.preventDefault();
        if (entry?.kind === 'dir') open(entry);
        else if (entry && selectable(entry)) toggle(entry);
        break;
      case 'Backspace':
        event.preventDefault();
        if (listing?.parent) load(listing.parent);
        break;
    }
  };

  const createFolder = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (!listing || newName === null) return;
    try {
      const made = await fs.mkdir(listing.path, newName.trim());
      setNewName(null);
      await load(listing.path, hidden, made.path.slice(made.path.lastIndexOf(listing.sep) + 1));
      listRef.current?.focus();
    } catch (failure) {
      setError(toError(failure));
    }
  };

  const count = selected.size;
  const label =
    pickLabel ??
    (mode === 'folders' ? (count > 0 ? 'Use selected folder' : 'Use this folder') : 'Add');
  const canPick = mode === 'folders' ? listing !== undefined : count > 0;

  return (
    <div class="file-browser">
      <div class="fb-side">
        <nav aria-label="Places">
          <ul class="fb-places">
            <li>
              <button type="button" class="link-button" onClick={() => load(listing?.home)}>
                Home
              </button>
            </li>
            {listing?.roots.map((root) => (
              <li key={root}>
                <button type="button" class="link-button" onClick={() => load(root)}>
                  {root === '/' ? 'Computer (/)' : root}
                </button>
              </li>
            ))}
          </ul>
          {listing && listing.recent.length > 0 && (
            <>
              <h3 class="fb-heading">Recent</h3>
              <ul class="fb-places">
                {listing.recent.map((folder) => (
                  <li key={folder}>
                    <button
                      type="button"
                      class="link-button"
                      title={folder}
                      onClick={() => load(folder)}
                    >
                      <PeerText text={lastName(folder, listing.sep)} max={40} />
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </nav>
      </div>
      <div class="fb-main">
        <div class="fb-bar">
          <button
            type="button"
            class="button button-small"
            disabled={!listing?.parent}
            onClick={() => listing?.parent && load(listing.parent)}
            aria-label="Up to the folder above"
          >
            ↑ Up
          </button>
          <form
            class="fb-path"
            onSubmit={(event) => {
              event.preventDefault();
              load(typed);
            }}
          >
            <label class="visually-hidden" for={`${id}-path`}>
              Folder
            </label>
            <input
              id={`${id}-path`}
              type="text"
              value={typed}
              spellcheck={false}
              autoComplete="off"
              onInput={(event) => {
                typing.current = true;
                setTyped((event.target as HTMLInputElement).value);
              }}
            />
            <button type="submit" class="button button-small">
              Go
            </button>
          </form>
        </div>
        <div class="fb-bar">
          <label class="checkbox">
            <input
              type="checkbox"
              checked={hidden}
              onChange={(event) => {
                const on = (event.target as HTMLInputElement).checked;
                setHidden(on);
                load(listing?.path, on);
              }}
            />
            Show hidden files
          </label>
          {newName === null ? (
            <button
              type="button"
              class="button button-small"
              disabled={!listing}
              onClick={() => setNewName('')}
            >
              New folder
            </button>
          ) : (
            <form class="fb-new" onSubmit={createFolder}>
              <label for={`${id}-new`}>New folder name</label>
              <input
                id={`${id}-new`}
                type="text"
                value={newName}
                ref={newRef}
                maxLength={255}
                onInput={(event) => setNewName((event.target as HTMLInputElement).value)}
                onKeyDown={(event) => {
                  if (event.key === 'Escape') {
                    event.preventDefault();
                    event.stopPropagation();
                    setNewName(null);
                  }
                }}
              />
              <button type="submit" class="button button-small">
                Create
              </button>
              <button
                type="button"
                class="button button-small button-quiet"
                onClick={() => setNewName(null)}
              >
                Cancel
              </button>
            </form>
          )}
        </div>
        {error && <ErrorBox title="This did not work" message={error.message} />}
        <div
          ref={listRef}
          class="fb-list"
          role="listbox"
          tabIndex={0}
          aria-label={listing ? `Contents of ${listing.path}` : 'Folder contents'}
          aria-multiselectable={multiple}
          aria-activedescendant={entries.length > 0 ? `${id}-row-${active}` : undefined}
          onKeyDown={onKey}
          onClick={(event) => {
            const index = rowIndex(event);
            const entry = index === undefined ? undefined : entries[index];
            if (index === undefined || !entry) return;
            setActive(index);
            if (selectable(entry)) toggle(entry);
            else open(entry);
          }}
          onDblClick={(event) => {
            const index = rowIndex(event);
            const entry = index === undefined ? undefined : entries[index];
            if (entry) open(entry);
          }}
        >
          {entries.map((entry, index) => (
            <div
              key={entry.name}
              id={`${id}-row-${index}`}
              data-index={index}
              role="option"
              tabIndex={-1}
              aria-selected={selected.has(entry.name)}
              class={`fb-row fb-${entry.kind}${index === active ? ' fb-active' : ''}${selected.has(entry.name) ? ' fb-selected' : ''}`}
            >
              <span class="fb-icon">
                <Icon
                  name={entry.kind === 'dir' ? 'folder' : entry.kind === 'file' ? 'file' : 'other'}
                />
              </span>
              <span class="fb-name">
                <PeerText text={entry.name} max={120} />
                {entry.kind === 'dir' && <span class="visually-hidden"> (folder)</span>}
              </span>
              <span class="fb-size">
                {entry.kind === 'file' && entry.size !== undefined ? formatBytes(entry.size) : ''}
              </span>
              <span class="fb-time">
                {entry.modified !== undefined ? formatTime(entry.modified) : ''}
              </span>
            </div>
          ))}
        </div>
        {listing && entries.length === 0 && (
          <p class="hint">{mode === 'folders' ? 'No folders here.' : 'This folder is empty.'}</p>
        )}
        {listing?.truncated && (
          <p class="hint">Only the first entries are shown. Open a folder inside to see more.</p>
        )}
        <div class="fb-foot">
          <span class="hint" aria-live="polite">
            {count > 0
              ? `${count} selected`
              : mode === 'folders'
                ? 'Pick a folder, or use this one.'
                : 'Select files with Space or a click.'}
            {free !== null ? ` · ${formatBytes(free)} free here` : ''}
          </span>
          <span class="fb-actions">
            {onCancel && (
              <button type="button" class="button button-quiet" onClick={onCancel}>
                Cancel
              </button>
            )}
            <button type="button" class="button button-primary" disabled={!canPick} onClick={pick}>
              {count > 1 && mode !== 'folders' ? `${label} ${count} items` : label}
            </button>
          </span>
        </div>
      </div>
    </div>
  );
}

/** The index of the row an event happened in, if any. */
function rowIndex(event: Event): number | undefined {
  const row = (event.target as HTMLElement).closest<HTMLElement>('[data-index]');
  return row ? Number(row.dataset['index']) : undefined;
}

function visible(entries: readonly FsEntry[], mode: PickMode): FsEntry[] {
  return mode === 'folders' ? entries.filter((e) => e.kind === 'dir') : [...entries];
}

function lastName(folder: string, sep: string): string {
  const trimmed = folder.length > 1 && folder.endsWith(sep) ? folder.slice(0, -1) : folder;
  return trimmed.slice(trimmed.lastIndexOf(sep) + 1) || trimmed;
}

/** {@link FileBrowser} in a modal dialog. */
export function FileBrowserDialog({
  title,
  open,
  onClose,
  ...props
}: Omit<FileBrowserProps, 'onCancel'> & { title: string; open: boolean; onClose: () => void }) {
  return (
    <Dialog title={title} open={open} onClose={onClose} wide>
      <FileBrowser
        {...props}
        onCancel={onClose}
        onPick={(paths) => {
          props.onPick(paths);
          onClose();
        }}
      />
    </Dialog>
  );
}
