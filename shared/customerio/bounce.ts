// The one bounce classifier: the action policy uses it to leave soft bounces alone, and the views' bounce_type
// (shared/warehouse/views/events_unique.sql) applies the same two patterns in SQL (a test holds them equal and runs
// both over the same messages).
//
// Soft: the failure message carries an SMTP 4xx reply or a 4.x.x enhanced status (mailbox full, greylisting,
// throttling: the address may work tomorrow) and no 5xx / 5.x.x. Hard: anything else, including a message with no
// code at all (Customer.io reports permanent failures as `bounced`).

/**
 * A reply code (`550`) or an enhanced status code (`5.1.1`) of one class, not part of a longer number. Written for
 * every engine that runs it: JavaScript, and RE2 (BigQuery and DuckDB); no backslashes, so it is the same text in a
 * SQL string literal.
 */
function smtpCode(classDigit: '4' | '5'): string {
  return `(?:^|[^0-9.])${classDigit}(?:[0-9][0-9]|[.][0-9]{1,3}[.][0-9]{1,3})(?:[^0-9]|$)`;
}

export const TEMPORARY_SMTP_CODE = smtpCode('4');
export const PERMANENT_SMTP_CODE = smtpCode('5');

const temporary = new RegExp(TEMPORARY_SMTP_CODE);
const permanent = new RegExp(PERMANENT_SMTP_CODE);

export type BounceClass = 'soft' | 'hard';

export function bounceClass(failureMessage: string | undefined): BounceClass {
  if (failureMessage === undefined) return 'hard';
  return temporary.test(failureMessage) && !permanent.test(failureMessage) ? 'soft' : 'hard';
}
