import { DeadlineExceededError, RetryableError, classOf } from '../shared/errors';

it('a retryable failure is classified by its kind and detail, with the kind’s severity', () => {
  expect(classOf(new RetryableError('warehouse', 'backendError', 'x'))).toEqual({
    classification: 'warehouse:backendError',
    severity: 'warning',
  });
  expect(classOf(new RetryableError('track:credentials', 401, 'x'))).toEqual({
    classification: 'track:credentials:401',
    severity: 'error',
  });
  expect(classOf(new DeadlineExceededError('warehouse insert'))).toEqual({
    classification: 'deadline',
    severity: 'warning',
  });
});

it('anything else is an unexpected failure and pages', () => {
  expect(classOf(new Error('boom'))).toEqual({ classification: 'unexpected', severity: 'error' });
  expect(classOf('a string')).toEqual({ classification: 'unexpected', severity: 'error' });
});
