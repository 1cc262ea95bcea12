export { main, EXIT, findDefaultFolder } from './main.ts';
export { createReceiver, type Receiver, type ReceiverEvents, type ReceiveResult } from './receiver.ts';
export { alternativeName, Destination } from './destination.ts';
