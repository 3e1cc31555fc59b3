import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { HubHandlerError } from '../protocol/hub.error.js';

/**
 * Nest's default filter would answer `{"event":"exception"}` without the frame's id. Rethrowing
 * hands the exception to the hub's dispatcher, which answers with the protocol's error frame
 * carrying the id.
 */
@Catch()
export class HubExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, _host: ArgumentsHost): never {
    throw new HubHandlerError(exception);
  }
}
