// The page's entry point: the shell (header, connection state, the stopped overlay) and the
// screen of the app that serves it, chosen by the `data-app` attribute of the page's body.
import { render } from 'preact';
import { WINDOW_APPS, type WindowApp } from '../state/apps.ts';
import type { AppSlice } from '../state/common.ts';
import { ChatScreen } from './chat/index.tsx';
import { useLiveStatus, useSlice } from './lib/live.ts';
import { PeerText } from './lib/PeerText.tsx';
import { StoppedOverlay } from './lib/StoppedOverlay.tsx';
import { ReceiveScreen } from './receive/index.tsx';
import { SendScreen } from './send/index.tsx';
import './styles.css';

const SCREENS: Record<
  WindowApp,
  { title: string; command: string; Screen: () => preact.JSX.Element }
> = {
  send: { title: 'Send', command: 'ferry-send --ui', Screen: SendScreen },
  receive: { title: 'Receive', command: 'ferry-receive --ui', Screen: ReceiveScreen },
  'chat-listener': { title: 'Chat', command: 'ferry-send --chat --ui', Screen: ChatScreen },
  'chat-joiner': { title: 'Chat', command: 'ferry-receive --chat --ui', Screen: ChatScreen },
};

function Shell({ app }: { app: WindowApp }) {
  const status = useLiveStatus();
  const { title, command, Screen } = SCREENS[app];
  const info = useSlice<AppSlice>('app');
  return (
    <>
      <header class="top">
        <span class="brand">
          <img src="/favicon.svg" alt="" width={24} height={24} /> Ferry
        </span>
        <span class="top-title">{title}</span>
        {info && (
          <span class="top-info">
            <span class="visually-hidden">This computer: </span>
            <PeerText class="top-name" text={info.name} max={40} />
            <span class={info.encryption ? 'badge badge-ok' : 'badge badge-warn'}>
              {info.encryption ? 'Encrypted' : 'Not encrypted'}
            </span>
          </span>
        )}
        {status === 'reconnecting' && (
          <span class="badge" role="status">
            Reconnecting…
          </span>
        )}
      </header>
      <main id="main" class="main" inert={status === 'stopped'}>
        <Screen />
      </main>
      {status === 'stopped' && <StoppedOverlay command={command} />}
    </>
  );
}

const given = document.body.dataset['app'];
const app: WindowApp = (WINDOW_APPS as readonly string[]).includes(given ?? '')
  ? (given as WindowApp)
  : 'send';
render(<Shell app={app} />, document.getElementById('root')!);
