export { main, EXIT } from './main.ts';
export { createSender, type Sender, type SenderEvents, type SenderOptions } from './sender.ts';
export { scanOffer, type OfferSource } from '@ferry/engine';
export {
  findReceiverProgram,
  RECEIVER_PROGRAM,
  type ReceiverProgramPlaces,
  receiverProgram,
} from './link/receiver-program.ts';
