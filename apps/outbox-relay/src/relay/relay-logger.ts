/** The logging the relay needs: Nest's Logger (pino in the app) fits it, so do test doubles. */
export interface RelayLogger {
  debug(context: object, message: string): void;
  log(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}
