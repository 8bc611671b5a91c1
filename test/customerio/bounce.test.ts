import { bounceClass } from '../../shared/customerio/bounce';

it.each([
  ['452 4.2.2 Mailbox full', 'soft'],
  ['421 Service not available, try again later', 'soft'],
  ['smtp;451 4.7.1 Greylisted', 'soft'],
  ['4.4.7 Delivery time expired', 'soft'],
  ['550 5.1.1 The email account that you tried to reach does not exist', 'hard'],
  ['5.7.1 rejected by policy', 'hard'],
  ['452 4.2.2 over quota; then 550 5.2.2 mailbox disabled', 'hard'],
  ['The recipient domain does not exist', 'hard'],
  ['message of 45000 bytes refused', 'hard'], // 450 inside a longer number is no SMTP code
  ['code 1.4.50 unknown', 'hard'],
  ['', 'hard'],
  [undefined, 'hard'],
] as const)('%s → %s', (message, expected) => {
  expect(bounceClass(message)).toBe(expected);
});
