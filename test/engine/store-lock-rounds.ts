/** The messages between store-lock-race.test.ts and its children (store-lock-child.ts). */

/** Race for the store at `startAt`; the winner saves, acknowledges and keeps the store open. */
export interface RoundMessage {
  type: 'round';
  round: number;
  dir: string;
  startAt: number;
}

/** The winner closes the store it holds and answers { closed: pid }. */
export interface CloseMessage {
  type: 'close';
}

export type RoundReply = { round: number; pid: number } & (
  | { won: true; missing: number }
  | { won: false; code: string; holderPid: number | undefined }
  | { won: false; code: 'error'; holderPid: undefined; error: string }
);

export function roundSessionId(round: number): string {
  return `lockround${String(round).padStart(8, '0')}`;
}
