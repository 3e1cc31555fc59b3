import { describe, expect, it } from 'vitest';
import {
  HubClientError,
  HubDisconnectedError,
  HubQueueExpiredError,
  HubQueueFullError,
  HubRequestError,
  HubTimeoutError,
} from '../../../src/ws-hub/client/errors.js';

describe('client errors', () => {
  it('are typed, named and carry the server code', () => {
    const error = new HubRequestError('FORBIDDEN', 'no');
    expect(error).toBeInstanceOf(HubClientError);
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.code, error.message]).toEqual(['HubRequestError', 'FORBIDDEN', 'no']);
    expect(new HubTimeoutError('t').name).toBe('HubTimeoutError');
    expect(new HubDisconnectedError('d').name).toBe('HubDisconnectedError');
    expect(new HubQueueFullError('q').name).toBe('HubQueueFullError');
    expect(new HubQueueFullError('q')).not.toBeInstanceOf(HubDisconnectedError);
    expect(new HubQueueExpiredError('e').name).toBe('HubQueueExpiredError');
    expect(new HubQueueExpiredError('e')).toBeInstanceOf(HubClientError);
    expect(new HubQueueExpiredError('e')).not.toBeInstanceOf(HubTimeoutError);
    expect(error.details).toBeUndefined();
    expect(
      new HubRequestError('BAD_REQUEST', 'invalid', ['text must be a string']).details,
    ).toEqual(['text must be a string']);
  });
});
