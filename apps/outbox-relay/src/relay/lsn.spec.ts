import { formatLsn, parseLsn } from './lsn';

describe('WAL positions', () => {
  it('round-trips the text form Postgres prints', () => {
    for (const text of ['0/0', '0/16B3748', '16/B374D848', 'FFFFFFFF/FFFFFFFF'])
      expect(formatLsn(parseLsn(text))).toBe(text);
  });

  it('orders positions numerically, not as text', () => {
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
    expect(parseLsn('0/A0') > parseLsn('0/9F')).toBe(true);
  });

  it('rejects anything that is not X/Y in hex', () => {
    expect(() => parseLsn('16B3748')).toThrow('not a WAL position');
    expect(() => parseLsn('0/XYZ')).toThrow('not a WAL position');
  });
});
