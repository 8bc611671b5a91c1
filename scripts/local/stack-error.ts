/** The local stack could not start or run: the message says what to do. */
export class StackError extends Error {
  override name = 'StackError';
}
