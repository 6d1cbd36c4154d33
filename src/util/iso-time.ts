/**
 * UTC date and time of a Unix second count as ISO 8601 `YYYY-MM-DDTHH:MM:SS`, for any
 * finite count: a hostile pcapng timestamp (64-bit ticks, a 64-bit offset) can lie far
 * outside the range of a JS Date, whose toISOString() then throws. Years outside
 * 0000-9999 are written expanded, sign and at least six digits, as toISOString() does.
 */
export function isoSeconds(sec: number): string {
  const s = Number.isFinite(sec) ? Math.floor(sec) : 0;
  let days: number, t: number;
  if (Math.abs(s) < 2 ** 52) {
    days = Math.floor(s / 86400);
    t = s - days * 86400;
  } else {
    // days * 86400 would round: split exactly (a double this large is an integer).
    const b = BigInt(s);
    let d = b / 86400n;
    if (b < 0n && d * 86400n !== b) d -= 1n;
    days = Number(d);
    t = Number(b - d * 86400n);
  }
  // Civil date from a day count (proleptic Gregorian; H. Hinnant's days_from_civil inverse).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const year = y >= 0 && y <= 9999 ? String(y).padStart(4, '0') : (y < 0 ? '-' : '+') + String(Math.abs(y)).padStart(6, '0');
  return `${year}-${p2(m)}-${p2(d)}T${p2(Math.floor(t / 3600))}:${p2(Math.floor(t / 60) % 60)}:${p2(t % 60)}`;
}
