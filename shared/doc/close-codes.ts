/**
 * WebSocket close codes of the collab endpoint, shared by server and client. The 44xx range
 * mirrors HTTP 4xx and tells the stock y-websocket client not to reconnect (a retry can't fix
 * it); 45xx means "try again later" and the client keeps reconnecting with backoff.
 */
export const CollabClose = {
  /** Frame isn't a well-formed y-websocket message, or touches an unknown root type. */
  malformed: 4400,
  /** Missing or bad token. */
  unauthorized: 4401,
  /** Workspace name is not acceptable. */
  notFound: 4404,
  /** A message larger than the limit. */
  tooLarge: 4413,
  /** The document could not be loaded (e.g. corrupt snapshot); nothing is served. */
  unavailable: 4503,
  /** The client doesn't read fast enough; it reconnects and resyncs. */
  backpressure: 4508,
  /** Server shutting down. */
  goingAway: 1001,
} as const

export type CollabCloseCode = (typeof CollabClose)[keyof typeof CollabClose]

/** 1 MiB: the largest y-websocket message the server accepts. */
export const COLLAB_MAX_MESSAGE_BYTES = 1024 * 1024
