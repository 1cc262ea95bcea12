import { useRef, useState } from 'preact/hooks';
import type { StagedFile } from '../../state/upload.ts';
import { ActionFailed, callAction } from '../lib/actions.ts';
import { ErrorBox } from '../lib/ErrorBox.tsx';
import { plural } from '../lib/format.ts';
import { ProgressBar } from '../lib/ProgressBar.tsx';
import { type DroppedFile, droppedFiles, takeDrop, uploadFile } from './drop.ts';

/** Where a drop is: its files being taken by Ferry, then added to the offer. */
interface Taking {
  readonly files: number;
  readonly total: number;
  readonly done: number;
  readonly startedAt: number;
  readonly rate: number | null;
}

/** A drop that went wrong: what happened, in Ferry's words. */
interface DropFailure {
  readonly message: string;
  readonly next: string;
}

/** The drop handlers for the offer's panel, and what it shows of a drop. */
export interface Drop {
  readonly handlers: {
    onDragEnter: (event: DragEvent) => void;
    onDragOver: (event: DragEvent) => void;
    onDragLeave: (event: DragEvent) => void;
    onDrop: (event: DragEvent) => void;
  };
  /** Files are being dragged over the panel. */
  readonly over: boolean;
  /** A drop is being taken: Add files waits. */
  readonly busy: boolean;
  /** The hint, the progress or the error to show. */
  readonly view: preact.JSX.Element;
}

/**
 * Files and folders dropped from the desktop: a browser gives the page their bytes, never where
 * they are, so each file is sent to Ferry, which keeps it in a folder of its own; then the drop
 * is added to the offer as Add files adds picked ones (and the terminal says so the same way).
 */
export function useDrop(): Drop {
  const [over, setOver] = useState(false);
  const [taking, setTaking] = useState<Taking>();
  const [failure, setFailure] = useState<DropFailure>();
  const [added, setAdded] = useState<string>();
  const cancel = useRef<AbortController | undefined>(undefined);

  const hasFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') ?? false;
  const onDragOver = (event: DragEvent) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    setOver(true);
  };
  const onDragLeave = (event: DragEvent) => {
    const to = event.relatedTarget as Node | null;
    if (!to || !(event.currentTarget as Node).contains(to)) setOver(false);
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    if (!event.dataTransfer) return;
    const items = takeDrop(event.dataTransfer);
    if (items.length === 0) return;
    if (taking) {
      setFailure({
        message: 'Ferry is still taking the files dropped before.',
        next: 'Drop these again once it is done.',
      });
      return;
    }
    void take(items);
  };

  const take = async (items: ReturnType<typeof takeDrop>) => {
    setFailure(undefined);
    setAdded(undefined);
    const controller = new AbortController();
    cancel.current = controller;
    let files: DroppedFile[];
    try {
      files = await droppedFiles(items);
    } catch {
      setFailure({
        message: 'The browser could not read what was dropped.',
        next: 'Pick it with Add files… instead.',
      });
      return;
    }
    if (files.length === 0) {
      setFailure({
        message: 'There was no file in what was dropped (an empty folder is not offered).',
        next: 'Drop files, or a folder with files in it, or use Add files….',
      });
      return;
    }
    const total = files.reduce((sum, { file }) => sum + file.size, 0);
    const startedAt = performance.now();
    let before = 0;
    const show = (done: number) => {
      const seconds = (performance.now() - startedAt) / 1000;
      setTaking({
        files: files.length,
        total,
        done,
        startedAt,
        rate: seconds >= 0.5 ? done / seconds : null,
      });
    };
    show(0);
    const drop = crypto.randomUUID();
    const staged: StagedFile[] = [];
    try {
      for (const dropped of files) {
        staged.push(
          await uploadFile(drop, dropped, (sent) => show(before + sent), controller.signal),
        );
        before += dropped.file.size;
        show(before);
      }
      const paths = [...new Set(staged.map((s) => s.item))];
      await callAction('add', { paths });
      setAdded(`Added ${plural(paths.length, 'dropped item')} to the offer.`);
    } catch (error) {
      const failed = error instanceof ActionFailed ? error : undefined;
      setFailure(
        failed?.code === 'ERR_CANCELLED'
          ? { message: 'Cancelled: nothing was added.', next: 'Drop the files again when ready.' }
          : {
              message: failed?.message ?? String(error),
              next: 'Nothing was added to the offer. Drop the files again, or pick them with Add files….',
            },
      );
    } finally {
      cancel.current = undefined;
      setTaking(undefined);
    }
  };

  const view = (
    <>
      <p class={`send-dropzone${over ? ' send-dropzone-over' : ''}`}>
        {over ? 'Drop to add to the offer' : 'Or drop files and folders here from your desktop.'}
      </p>
      {taking && (
        <div class="send-drop-progress">
          <ProgressBar
            label={`Taking ${plural(taking.files, 'dropped file')}`}
            done={taking.done}
            total={taking.total}
            rate={taking.rate}
            eta={taking.rate ? (taking.total - taking.done) / taking.rate : null}
          />
          <button
            type="button"
            class="button button-small button-quiet"
            onClick={() => cancel.current?.abort()}
          >
            Cancel
          </button>
        </div>
      )}
      {added && !taking && (
        <p class="hint" role="status">
          {added}
        </p>
      )}
      {failure && (
        <ErrorBox
          title="The dropped files were not added"
          message={failure.message}
          next={failure.next}
        />
      )}
    </>
  );

  return {
    handlers: { onDragEnter: onDragOver, onDragOver, onDragLeave, onDrop },
    over,
    busy: taking !== undefined,
    view,
  };
}
