import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type {
  ChatEntry,
  ChatOffer,
  ChatPeer,
  ChatSlice,
  ChatTransfer,
  SendAnswer,
} from '../../state/chat.ts';
import type { ErrorInfo } from '../../state/common.ts';
import { ActionFailed, callAction } from '../lib/actions.ts';
import { CodeDisplay, Fingerprint } from '../lib/CodeDisplay.tsx';
import { CopyButton } from '../lib/CopyButton.tsx';
import { ErrorBox } from '../lib/ErrorBox.tsx';
import { FileBrowserDialog } from '../lib/FileBrowser.tsx';
import { formatBytes, formatTime, plural } from '../lib/format.ts';
import { useSlice } from '../lib/live.ts';
import { PeerText } from '../lib/PeerText.tsx';
import { ProgressBar } from '../lib/ProgressBar.tsx';
import './chat.css';

function toError(error: unknown): ErrorInfo {
  return error instanceof ActionFailed
    ? error.info
    : { code: 'ERR_CLIENT', message: String(error) };
}

/** Runs an action; its refusal is kept to be shown where it was asked for. */
type Outcome = { ok: true; value: unknown } | { ok: false };

function useAction(): [ErrorInfo | undefined, (name: string, input: unknown) => Promise<Outcome>] {
  const [error, setError] = useState<ErrorInfo>();
  const run = async (name: string, input: unknown): Promise<Outcome> => {
    try {
      const value = await callAction(name, input);
      setError(undefined);
      return { ok: true, value };
    } catch (failure) {
      setError(toError(failure));
      return { ok: false };
    }
  };
  return [error, run];
}

/** The chat window's screen: who is there, the conversation, offers, transfers, and leaving. */
export function ChatScreen() {
  const chat = useSlice<ChatSlice>('chat');
  const [selected, setSelected] = useState<number>();
  const peers = chat?.peers ?? [];
  // The person selected, or the first one there (for a joiner: the host).
  const target = peers.find((p) => p.peer === selected) ?? peers[0];
  return (
    <div class="chat">
      <h1 class="visually-hidden">Chat with Ferry</h1>
      <StatusPanel chat={chat} />
      {chat?.role === 'listener' && chat.host && <HostPanel chat={chat} />}
      <OffersPanel />
      <div class="chat-layout">
        <PeoplePanel chat={chat} target={target} onSelect={setSelected} />
        <ConversationPanel live={chat?.phase === 'live' || chat?.phase === 'reconnecting'} />
      </div>
      <TransfersPanel />
      {chat && chat.phase !== 'ended' && <LeavePanel chat={chat} />}
    </div>
  );
}

/** Connecting, the pairing code asked for, reconnecting, or why the conversation ended. */
function StatusPanel({ chat }: { chat: ChatSlice | undefined }) {
  if (!chat || chat.phase === 'connecting')
    return (
      <section class="panel" aria-labelledby="chat-status">
        <h2 id="chat-status">Joining the conversation</h2>
        <p class="hint" role="status">
          {chat?.role === 'listener' ? 'Starting…' : 'Connecting…'}
        </p>
      </section>
    );
  if (chat.phase === 'code') return <CodePanel />;
  if (chat.phase === 'reconnecting' && chat.reconnecting)
    return (
      <section class="panel chat-banner chat-banner-warn" role="status">
        The connection to <PeerText text={chat.reconnecting.by} max={60} /> was lost: reconnecting
        for up to {chat.reconnecting.seconds} s. What you send waits until it is back.
      </section>
    );
  if (chat.phase === 'ended' && chat.ended)
    return (
      <section class="panel chat-banner chat-banner-ended" role="status">
        <h2>The conversation has ended</h2>
        <p>
          {chat.ended.reason === 'quit'
            ? 'You left it.'
            : chat.ended.reason === 'closed'
              ? 'Its host closed it.'
              : chat.ended.reason === 'lost'
                ? 'The connection was lost.'
                : chat.ended.reason === 'cut-off'
                  ? 'You were cut off.'
                  : 'Ferry could not join it.'}
          {chat.ended.message && (
            <>
              {' '}
              <PeerText text={chat.ended.message} />
            </>
          )}
        </p>
        <p class="hint">Start Ferry again to talk again.</p>
      </section>
    );
  return null;
}

/** A joiner's pairing code, typed here. */
function CodePanel() {
  const id = useId();
  const [code, setCode] = useState('');
  const [error, run] = useAction();
  return (
    <section class="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Pairing code</h2>
      <form
        class="row"
        onSubmit={(event) => {
          event.preventDefault();
          void run('code', { code });
        }}
      >
        <label for={`${id}-code`}>Type the code the other computer shows</label>
        <input
          id={`${id}-code`}
          class="chat-code-input"
          type="text"
          inputMode="numeric"
          autoComplete="one-time-code"
          placeholder="1234-5678"
          value={code}
          onInput={(event) => setCode((event.target as HTMLInputElement).value)}
        />
        <button type="submit" class="button button-primary" disabled={code.trim() === ''}>
          Join
        </button>
      </form>
      {error && <ErrorBox title="Not joined" message={error.message} />}
    </section>
  );
}

/** The listener's addresses, key and the pairing code that lets someone join. */
function HostPanel({ chat }: { chat: ChatSlice }) {
  const host = chat.host!;
  return (
    <section class="panel" aria-labelledby="chat-host">
      <h2 id="chat-host">Let someone join</h2>
      <p>On the other computer, run one of these:</p>
      <ul class="chat-list">
        {host.addresses.map((a) => {
          const address = a.address.includes(':') ? `[${a.address}]` : a.address;
          const command = `ferry-receive --chat ${address}:${host.port}`;
          return (
            <li key={a.address} class="chat-address">
              <code class="mono">{command}</code>
              {a.iface && <span class="hint"> ({a.iface})</span>}
              <CopyButton text={command} label="Copy command" />
            </li>
          );
        })}
      </ul>
      {host.code ? (
        <CodeDisplay code={host.code} fingerprint={host.fingerprint ?? undefined} />
      ) : (
        <p class="hint">Not encrypted: no pairing code is needed.</p>
      )}
    </section>
  );
}

/** This side and everyone else, each with their key and address; one is selected to send to. */
function PeoplePanel({
  chat,
  target,
  onSelect,
}: {
  chat: ChatSlice | undefined;
  target: ChatPeer | undefined;
  onSelect: (peer: number) => void;
}) {
  const [picking, setPicking] = useState(false);
  const [error, run] = useAction();
  const [sent, setSent] = useState<string>();
  const peers = chat?.peers ?? [];
  const live = chat?.phase === 'live';
  // A joiner's files go to the host (peer 0) only.
  const canSend = live && target !== undefined && (chat?.role === 'listener' || target.peer === 0);
  return (
    <section class="panel chat-people" aria-labelledby="chat-people">
      <h2 id="chat-people">People</h2>
      {chat?.self && (
        <div class="chat-self">
          <span class="hint">You: </span>
          <PeerText text={chat.self.name} max={60} />
          {chat.self.key && <Fingerprint value={chat.self.key} label="Your key" />}
        </div>
      )}
      {peers.length === 0 ? (
        <p class="hint">
          {chat?.role === 'listener' ? 'Nobody has joined yet.' : 'Nobody else is here yet.'}
        </p>
      ) : (
        <ul class="chat-list" aria-label="People in the conversation">
          {peers.map((p) => (
            <li key={p.peer}>
              <button
                type="button"
                class={`chat-peer${target?.peer === p.peer ? ' chat-peer-selected' : ''}`}
                aria-pressed={target?.peer === p.peer}
                onClick={() => onSelect(p.peer)}
              >
                <span class="chat-peer-name">
                  <PeerText text={p.name} max={60} />
                  {p.peer === 0 && chat?.role === 'joiner' && (
                    <span class="badge chat-host-badge">host</span>
                  )}
                  {p.transfers > 0 && <span class="badge">{plural(p.transfers, 'transfer')}</span>}
                </span>
                {p.key && (
                  <span class="chat-peer-detail">
                    Key <code class="mono">{p.key}</code>
                  </span>
                )}
                {p.address && (
                  <span class="chat-peer-detail">
                    Address <code class="mono">{p.address}</code>
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
      )}
      {target && (
        <div class="chat-send">
          <button
            type="button"
            class="button button-primary"
            disabled={!canSend}
            onClick={() => setPicking(true)}
          >
            Send files to <PeerText text={target.name} max={40} />…
          </button>
          {!canSend && live && <p class="hint">Files go to the host: select them to send.</p>}
        </div>
      )}
      {sent && (
        <p class="hint" role="status">
          {sent}
        </p>
      )}
      {error && <ErrorBox title="Not sent" message={error.message} />}
      {target && (
        <FileBrowserDialog
          title={`Send files to ${target.name.slice(0, 60)}`}
          open={picking}
          onClose={() => setPicking(false)}
          mode="both"
          multiple
          pickLabel="Send"
          onPick={async (paths) => {
            setSent(undefined);
            const outcome = await run('send', { peer: target.peer, paths });
            const answer = outcome.ok ? (outcome.value as SendAnswer) : undefined;
            if (answer)
              setSent(
                `Offered as ${answer.offers.map((n) => `#${n}`).join(', ')}; waiting for an answer.`,
              );
          }}
        />
      )}
    </section>
  );
}

/** The messages and notes, newest last, and the field to write one. */
function ConversationPanel({ live }: { live: boolean }) {
  const id = useId();
  const messages = useSlice<ChatEntry[]>('messages') ?? [];
  const [text, setText] = useState('');
  const [error, run] = useAction();
  const logRef = useRef<HTMLDivElement>(null);
  const last = messages.at(-1)?.id;
  useEffect(() => {
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [last]);
  return (
    <section class="panel chat-conversation" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Conversation</h2>
      <div
        ref={logRef}
        class="chat-log"
        role="log"
        aria-live="polite"
        aria-label="Messages"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling log is read with the keyboard too
        tabIndex={0}
      >
        {messages.length === 0 ? (
          <p class="hint">No messages yet.</p>
        ) : (
          <ol class="chat-entries">
            {messages.map((entry) => (
              <Entry key={entry.id} entry={entry} />
            ))}
          </ol>
        )}
      </div>
      <form
        class="chat-compose"
        onSubmit={async (event) => {
          event.preventDefault();
          if (text.trim() === '') return;
          if ((await run('say', { text })).ok) setText('');
        }}
      >
        <label for={`${id}-text`} class="visually-hidden">
          Message
        </label>
        <input
          id={`${id}-text`}
          type="text"
          placeholder="Write a message"
          autoComplete="off"
          maxLength={16_384}
          value={text}
          disabled={!live}
          onInput={(event) => setText((event.target as HTMLInputElement).value)}
        />
        <button type="submit" class="button button-primary" disabled={!live || text.trim() === ''}>
          Send message
        </button>
      </form>
      {error && <ErrorBox title="Not sent" message={error.message} />}
    </section>
  );
}

function Entry({ entry }: { entry: ChatEntry }) {
  const time = (
    <time class="chat-time" dateTime={new Date(entry.at).toISOString()}>
      {formatTime(entry.at)}
    </time>
  );
  if (entry.kind === 'message')
    return (
      <li class={entry.own ? 'chat-message chat-own' : 'chat-message'}>
        <span class="chat-from">{entry.own ? 'You' : <PeerText text={entry.name} max={60} />}</span>
        {time}
        <p class="chat-text">
          <PeerText text={entry.text} max={20_000} />
        </p>
      </li>
    );
  return (
    <li class={`chat-note chat-note-${entry.tone}`}>
      {entry.parts.map((part, i) =>
        part.peer ? (
          <PeerText key={i} text={part.text} max={120} />
        ) : (
          <span key={i}>{part.text}</span>
        ),
      )}{' '}
      {time}
    </li>
  );
}

/** Offers waiting for this user's answer: accept into a folder picked, or decline. */
function OffersPanel() {
  const offers = useSlice<ChatOffer[]>('offers') ?? [];
  if (offers.length === 0) return null;
  return (
    <section class="panel" aria-labelledby="chat-offers">
      <h2 id="chat-offers">Offers for you</h2>
      <ul class="chat-list">
        {offers.map((offer) => (
          <Offer key={offer.offer} offer={offer} />
        ))}
      </ul>
    </section>
  );
}

function Offer({ offer }: { offer: ChatOffer }) {
  const [picking, setPicking] = useState(false);
  const [error, run] = useAction();
  const [busy, setBusy] = useState(false);
  const shown = offer.items.slice(0, 20);
  return (
    <li class="chat-offer">
      <h3>
        #{offer.offer} from <PeerText text={offer.from} max={60} />: {plural(offer.files, 'file')},{' '}
        {formatBytes(offer.bytes)}
      </h3>
      <ul class="chat-items">
        {shown.map((item) => (
          <li key={item.name}>
            <PeerText text={item.name} max={120} />{' '}
            <span class="hint">
              {item.kind === 'dir' ? `folder, ${plural(item.files, 'file')}, ` : ''}
              {formatBytes(item.bytes)}
            </span>
          </li>
        ))}
        {offer.items.length > shown.length && (
          <li class="hint">and {offer.items.length - shown.length} more</li>
        )}
      </ul>
      {offer.hidden.length > 0 && (
        <p class="hint">
          Hidden names at the top:{' '}
          {offer.hidden.map((name, i) => (
            <span key={name}>
              {i > 0 && ', '}
              <PeerText text={name} max={60} />
            </span>
          ))}
          . Pick a folder of their own.
        </p>
      )}
      {offer.renamed.length > 0 && (
        <p class="hint">
          {plural(offer.renamed.length, 'name')} cannot be stored here as offered and will be
          renamed.
        </p>
      )}
      <div class="row">
        <button
          type="button"
          class="button button-primary"
          disabled={busy}
          onClick={() => setPicking(true)}
        >
          Accept #{offer.offer}…
        </button>
        <button
          type="button"
          class="button"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            await run('decline', { offer: offer.offer });
            setBusy(false);
          }}
        >
          Decline #{offer.offer}
        </button>
      </div>
      {error && <ErrorBox title="That did not work" message={error.message} />}
      <FileBrowserDialog
        title={`Save #${offer.offer} into a folder`}
        open={picking}
        onClose={() => setPicking(false)}
        mode="folders"
        pickLabel="Save here"
        onPick={async ([out]) => {
          if (out === undefined) return;
          setBusy(true);
          await run('accept', { offer: offer.offer, out });
          setBusy(false);
        }}
      />
    </li>
  );
}

const STATE_WORDS: Record<ChatTransfer['state'], string> = {
  offered: 'Waiting for an answer',
  running: 'Transferring',
  done: 'Done',
  failed: 'Failed',
  declined: 'Declined',
  suspended: 'Waiting for the connection',
};

const STATE_BADGE: Record<ChatTransfer['state'], string> = {
  offered: 'badge',
  running: 'badge',
  done: 'badge badge-ok',
  failed: 'badge badge-danger',
  declined: 'badge badge-warn',
  suspended: 'badge badge-warn',
};

/** Every transfer both ways, newest first, with progress while it runs. */
function TransfersPanel() {
  const transfers = useSlice<ChatTransfer[]>('transfers') ?? [];
  if (transfers.length === 0) return null;
  return (
    <section class="panel" aria-labelledby="chat-transfers">
      <h2 id="chat-transfers">Transfers</h2>
      <ul class="chat-list">
        {[...transfers].reverse().map((t) => (
          <li key={`${t.direction}${t.offer}`} class="chat-transfer">
            <div class="spread">
              <span>
                #{t.offer} {t.direction === 'in' ? 'from' : 'to'}{' '}
                <PeerText text={t.name} max={60} />
                {t.previous !== undefined && <span class="hint"> (continues #{t.previous})</span>}
              </span>
              <span class={STATE_BADGE[t.state]}>{STATE_WORDS[t.state]}</span>
            </div>
            {t.state === 'running' && (
              <ProgressBar
                label={`#${t.offer} ${t.direction === 'in' ? 'received' : 'sent'}`}
                done={t.done}
                total={t.bytes}
                rate={t.rate}
                eta={t.eta}
              />
            )}
            {t.state !== 'offered' && t.state !== 'declined' && (
              <p class="hint">
                {plural(t.files, 'file')}, {formatBytes(t.bytes)}
                {t.saved > 0 && ` · ${t.saved} ${t.direction === 'in' ? 'saved' : 'sent'}`}
                {t.failed > 0 && ` · ${t.failed} failed`}
                {t.held ? ` · ${formatBytes(t.held)} already there` : ''}
                {t.out && (
                  <>
                    {' · into '}
                    <PeerText text={t.out} max={80} />
                  </>
                )}
                {t.code && ` · ${t.code}`}
              </p>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Leaving (a joiner) or closing the conversation for everyone (the listener). */
function LeavePanel({ chat }: { chat: ChatSlice }) {
  const [error, run] = useAction();
  const listener = chat.role === 'listener';
  return (
    <section class="panel" aria-labelledby="chat-leave">
      <h2 id="chat-leave">{listener ? 'End the conversation' : 'Leave'}</h2>
      <p class="hint">
        {listener
          ? 'Everyone leaves, and Ferry stops. Transfers still running are cut off.'
          : 'You leave the conversation, and Ferry stops.'}
      </p>
      <button type="button" class="button button-danger" onClick={() => run('quit', {})}>
        {listener ? 'End conversation' : 'Leave conversation'}
      </button>
      {error && <ErrorBox title="That did not work" message={error.message} />}
    </section>
  );
}
