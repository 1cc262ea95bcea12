export { main, EXIT } from './main.ts';
export { defaultFolderIn } from '@ferry/cli';
export { createReceiver, type OfferedResume, type Receiver, type ReceiverEvents, type ReceiveResult } from './receiver.ts';
export { alternativeName, Destination } from '@ferry/engine';
export { createJoiner, type Joiner, type JoinerOptions } from './chat.ts';
