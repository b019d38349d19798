//! The structural bytes of CSV found 64 at a time: for a 64-byte block, one bit per byte for line
//! feeds, separators (`,`), quotes (`"`), carriage returns and non-ASCII bytes — the index
//! simdjson and simdcsv build before they look at a single field. Three levels compute the same
//! masks: AVX2 (two 32-byte compares per class, chosen at run time when the CPU has it), SSE2
//! (four 16-byte ones, every x86-64 CPU has it) and a portable byte loop (any target); the tests
//! compare them on random blocks. [`plain_lines`] reads records from them, the quote state
//! carried by a prefix XOR: the [`crate::RecordReader`]'s records and fields, and
//! [`crate::check_framing`]'s fast path.
//!
//! What it must not do: decide that a record is wrong. Whatever is not a record on one line with
//! unquoted or simply quoted fields is left to the byte-exact scanner, which says what is wrong
//! with it, if anything; the tests hold both to the same records and errors.

/// The masks of one 64-byte block: bit `i` is set when byte `i` is that character.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Masks {
    pub newline: u64,
    /// Field separators: `,`, or the reader's delimiter (`\t`, `;`, …).
    pub sep: u64,
    pub quote: u64,
    pub cr: u64,
    /// Bytes with the high bit set (not ASCII).
    pub high: u64,
}

impl Masks {
    /// Bytes that are none of the four: a record holding one has a value somewhere.
    #[inline]
    pub fn other(&self) -> u64 {
        !(self.newline | self.sep | self.quote | self.cr)
    }
}

/// The way masks are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// 32 bytes per compare (x86-64 with AVX2, detected at run time).
    Avx2,
    /// 16 bytes per compare (every x86-64 CPU).
    Sse2,
    /// A byte at a time, on any target.
    Portable,
}

impl Level {
    /// The fastest level this CPU has.
    pub fn best() -> Level {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                return Level::Avx2;
            }
            Level::Sse2
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Level::Portable
        }
    }

    /// Every level this CPU can run (the tests compare them).
    pub fn available() -> Vec<Level> {
        let mut v = vec![Level::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            v.push(Level::Sse2);
            if std::arch::is_x86_feature_detected!("avx2") {
                v.push(Level::Avx2);
            }
        }
        v
    }

    /// The masks of `block` at this level.
    ///
    /// # Panics
    /// When this CPU lacks the level (use [`Level::best`] or [`Level::available`]).
    #[inline]
    pub fn masks(self, block: &[u8; 64], sep: u8) -> Masks {
        match self {
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => {
                assert!(std::arch::is_x86_feature_detected!("avx2"));
                // SAFETY: the CPU has AVX2 (checked just above; the check is a cached load).
                unsafe { x86::avx2(block, sep) }
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: SSE2 is part of the x86-64 baseline.
            Level::Sse2 => unsafe { x86::sse2(block, sep) },
            #[cfg(not(target_arch = "x86_64"))]
            Level::Avx2 | Level::Sse2 => panic!("{self:?} needs x86-64"),
            Level::Portable => portable(block, sep),
        }
    }
}

/// The masks a byte at a time (`sep`: the field separator, never a quote or a line end).
pub fn portable(block: &[u8; 64], sep: u8) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'\n' => m.newline |= bit,
            b'"' => m.quote |= bit,
            b'\r' => m.cr |= bit,
            _ => {}
        }
        if b == sep {
            m.sep |= bit;
        }
        if b >= 0x80 {
            m.high |= bit;
        }
    }
    m
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Masks, PlainLine};

    /// [`super::plain_lines`] compiled for AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn plain_lines_avx2<const COLLECT: bool>(
        data: &[u8],
        sep: u8,
        max: usize,
        fields: &mut Vec<(usize, usize)>,
        keep: bool,
        each: impl FnMut(&PlainLine, &[(usize, usize)]) -> bool,
    ) -> usize {
        // SAFETY: this function runs only where AVX2 is (its caller checked).
        super::plain_lines_with::<COLLECT>(data, max, fields, keep, each, |b| unsafe {
            avx2(b, sep)
        })
    }

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn avx2(block: &[u8; 64], sep: u8) -> Masks {
        // SAFETY: two unaligned 32-byte loads inside the 64-byte block.
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_si256(block.as_ptr().cast()),
                _mm256_loadu_si256(block.as_ptr().add(32).cast()),
            )
        };
        let class = |c: u8| -> u64 {
            let c = _mm256_set1_epi8(c as i8);
            let a = _mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, c)) as u32 as u64;
            let b = _mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, c)) as u32 as u64;
            a | (b << 32)
        };
        let high = _mm256_movemask_epi8(lo) as u32 as u64
            | ((_mm256_movemask_epi8(hi) as u32 as u64) << 32);
        Masks {
            newline: class(b'\n'),
            sep: class(sep),
            quote: class(b'"'),
            cr: class(b'\r'),
            high,
        }
    }

    /// # Safety
    /// The CPU must have SSE2 (every x86-64 CPU does).
    #[target_feature(enable = "sse2")]
    pub unsafe fn sse2(block: &[u8; 64], sep: u8) -> Masks {
        // SAFETY: four unaligned 16-byte loads inside the 64-byte block.
        let v = unsafe {
            [0, 16, 32, 48].map(|o| _mm_loadu_si128(block.as_ptr().add(o).cast::<__m128i>()))
        };
        let class = |c: u8| -> u64 {
            let c = _mm_set1_epi8(c as i8);
            v.iter().enumerate().fold(0u64, |m, (i, x)| {
                m | ((_mm_movemask_epi8(_mm_cmpeq_epi8(*x, c)) as u16 as u64) << (16 * i))
            })
        };
        let high = v.iter().enumerate().fold(0u64, |m, (i, x)| {
            m | ((_mm_movemask_epi8(*x) as u16 as u64) << (16 * i))
        });
        Masks {
            newline: class(b'\n'),
            sep: class(sep),
            quote: class(b'"'),
            cr: class(b'\r'),
            high,
        }
    }
}

/// Plain records (no quote anywhere in them) read from the start of a buffer that begins at a
/// record start, 64 bytes at a time: how far they reach and what they hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlainRun {
    /// Bytes of the whole records taken (each up to and including its line feed).
    pub bytes: usize,
    /// Records taken (each one physical line).
    pub records: u64,
    /// Of those, empty lines (`\n` or `\r\n` alone).
    pub empty_lines: u64,
}

/// One plain line found by [`plain_lines`]: a record on one line whose fields are unquoted or
/// simply quoted (or an empty line).
#[derive(Debug)]
pub struct PlainLine {
    /// Where it starts in the data.
    pub start: usize,
    /// Where its line feed is.
    pub lf: usize,
    /// Its length without its terminator (`\n` or `\r\n`); 0 for an empty line.
    pub len: usize,
    /// Its fields' byte ranges, relative to its start, as indices into the `fields` vector
    /// [`plain_lines`] was given: `fields[first..end]` (empty when only counted, and for an
    /// empty line). A quoted field's range is its text between the quotes.
    pub fields: (usize, usize),
    /// How many separators (commas outside quotes) it has.
    pub separators: usize,
    /// It holds a byte other than a separator, quote or line end (a value somewhere).
    pub other: bool,
    /// Every byte of it is ASCII.
    pub ascii: bool,
    /// It holds quotes: each opens a field and closes it right before its separator (or the
    /// line end), with no quote inside but escaped ones (a field of it starting with a quote
    /// is quoted; its text is between the quotes).
    pub quotes: bool,
    /// A quoted field of it holds an escaped quote (`""`): its range then spans the escaped
    /// text, each `""` standing for one quote, which the reader of the field unescapes.
    pub escaped: bool,
}

/// Hands `each` the plain lines from the start of `data` (which begins at a record start), 64
/// bytes at a time, while `each` says go on: records on one line whose fields are unquoted or
/// quoted (the quote state carried by a prefix XOR, as simdjson and simdcsv do; an escaped
/// quote `""` inside a quoted field is one, [`PlainLine::escaped`]; a quote elsewhere, a line
/// feed inside quotes is left to the scanner), without
/// a carriage return outside quotes but the one before the line feed, of at most `max` bytes
/// without the terminator. Fields are separated by `sep` (`,` in CSV; a reader of another
/// delimiter passes its own, never a quote, a carriage return or a line feed).
/// Stops before the first line that is not, or that does not end inside `data` (the
/// byte-exact scanner reads that one), or that `each` refuses. Returns the bytes of the lines
/// taken, each up to and including its line feed. When `COLLECT`, each line's field ranges are
/// appended to `fields` as the line is scanned (no second pass over its separators) and handed
/// to `each` with it; with `keep` they stay there (a batch of lines), else they are removed once
/// `each` has taken the line (one line's at a time); a line not handed to `each` leaves none, one
/// `each` refuses keeps them. Without `COLLECT` separators are only counted
/// ([`PlainLine::separators`]).
#[inline]
pub fn plain_lines<const COLLECT: bool>(
    data: &[u8],
    sep: u8,
    max: usize,
    level: Level,
    fields: &mut Vec<(usize, usize)>,
    keep: bool,
    each: impl FnMut(&PlainLine, &[(usize, usize)]) -> bool,
) -> usize {
    match level {
        // The whole loop compiled for AVX2, so the masks are computed inline.
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => {
            assert!(std::arch::is_x86_feature_detected!("avx2"));
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { x86::plain_lines_avx2::<COLLECT>(data, sep, max, fields, keep, each) }
        }
        _ => plain_lines_with::<COLLECT>(data, max, fields, keep, each, |b| level.masks(b, sep)),
    }
}

/// [`plain_lines`] with the masks of a block computed by `masks`.
#[inline(always)]
fn plain_lines_with<const COLLECT: bool>(
    data: &[u8],
    max: usize,
    fields: &mut Vec<(usize, usize)>,
    keep: bool,
    mut each: impl FnMut(&PlainLine, &[(usize, usize)]) -> bool,
    masks: impl Fn(&[u8; 64]) -> Masks,
) -> usize {
    // The current line's first range in `fields`, and where its current field starts
    // (relative to the line).
    let (mut first, mut field_from) = (fields.len(), 0usize);
    let mut separators = 0usize;
    let (mut other, mut odd, mut high, mut quotes) = (false, false, false, false);
    let mut escaped = false;
    let (mut start, mut off) = (0usize, 0usize);
    // Carried from block to block: inside quotes (all ones) or not; whether the byte before
    // the block ends a field (a separator or a record end: the data starts at a record);
    // whether it is a closing quote (the block's first byte must then end its field).
    let (mut inside_before, mut field_end_before, mut closed_before) = (0u64, true, false);
    while off + 64 <= data.len() {
        let block: &[u8; 64] = data[off..off + 64].try_into().expect("64 bytes");
        let m = masks(block);
        let (inside, bad, esc);
        if m.quote == 0 && inside_before == 0 && !closed_before {
            // No quote in or before the block (most blocks): nothing inside quotes.
            (inside, bad, esc) = (0, 0, 0);
            field_end_before = (m.sep | m.newline) >> 63 == 1;
        } else {
            // Inside quotes: an odd number of quotes at or before a byte (so an opening
            // quote is inside, a closing one is not), by a prefix XOR carried from the block
            // before.
            inside = prefix_xor(m.quote) ^ inside_before;
            inside_before = ((inside as i64) >> 63) as u64;
            let (sep, ends) = (m.sep & !inside, m.newline & !inside);
            let (open, close) = (m.quote & inside, m.quote & !inside);
            // A quote right after a closing one opens again (by parity): the pair is an
            // escaped quote `""` inside the field.
            let after_closing = (close << 1) | u64::from(closed_before);
            esc = open & after_closing;
            // What the fast path leaves to the byte-exact scanner (which says whether it is
            // wrong): a quote that opens anywhere but at a field's start or as the second
            // quote of an escaped pair, a closing quote not followed by a separator, a
            // carriage return, a line feed or the quote of an escaped pair, a line feed
            // inside quotes.
            let field_start = ((sep | ends) << 1) | u64::from(field_end_before);
            let after_close = m.sep | m.newline | m.cr | m.quote;
            bad = (open & !field_start & !esc)
                | (after_closing & !after_close)
                | (m.newline & inside);
            (field_end_before, closed_before) = ((sep | ends) >> 63 == 1, close >> 63 == 1);
        }
        let (sep, ends) = (m.sep & !inside, m.newline & !inside);
        let other_mask = m.other();
        let cr_out = m.cr & !inside;
        // Whatever makes a line other than plain ASCII without quotes: in most blocks nothing,
        // and then the lines' flags are not looked at per line.
        let special = m.high | m.quote | bad | cr_out;
        let mut nl = ends;
        // The bits of the block not yet in a line.
        let mut rest = u64::MAX;
        loop {
            // The lowest line feed left, and the bits up to it (all of them without one).
            let low = nl & nl.wrapping_neg();
            let upto = nl ^ nl.wrapping_sub(1);
            let range = upto & rest;
            let mut c = sep & range;
            if COLLECT {
                while c != 0 {
                    let at = off + c.trailing_zeros() as usize - start;
                    fields.push((field_from, at));
                    field_from = at + 1;
                    c &= c - 1;
                }
            } else {
                separators += c.count_ones() as usize;
            }
            other |= other_mask & range != 0;
            if special & range != 0 {
                high |= m.high & range != 0;
                quotes |= m.quote & range != 0;
                escaped |= esc & range != 0;
                // A carriage return outside quotes anywhere but right before the line feed
                // (in this block): the byte-exact scanner decides.
                let cr = cr_out & range;
                odd |= bad & range != 0 || (cr != 0 && cr != low >> 1);
            }
            if nl == 0 {
                break;
            }
            let lf = off + low.trailing_zeros() as usize;
            let crlf = lf > start && data[lf - 1] == b'\r';
            let len = lf - start - usize::from(crlf);
            if COLLECT && len > 0 {
                fields.push((field_from, len));
                if quotes && !odd {
                    // A quoted field's text is between its quotes.
                    let line = &data[start..start + len];
                    for r in &mut fields[first..] {
                        if line[r.0..].first() == Some(&b'"') {
                            *r = (r.0 + 1, r.1 - 1);
                        }
                    }
                }
            }
            let line = PlainLine {
                start,
                lf,
                len,
                fields: (first, fields.len()),
                separators: if COLLECT {
                    (fields.len() - first).saturating_sub(1)
                } else {
                    separators
                },
                other,
                ascii: !high,
                quotes,
                escaped,
            };
            if odd || len > max {
                fields.truncate(first);
                return start;
            }
            if !each(&line, &fields[first..]) {
                // `each` has seen the line's ranges: they stay.
                return start;
            }
            if !keep {
                fields.truncate(first);
            }
            start = lf + 1;
            (first, field_from) = (fields.len(), 0);
            separators = 0;
            (other, odd, high, quotes, escaped) = (false, false, false, false, false);
            rest = !upto;
            nl ^= low;
        }
        // A record already past the maximum: the scanner reports it.
        if off + 64 - start > max + 2 {
            fields.truncate(first);
            return start;
        }
        off += 64;
    }
    // The ranges of a line that does not end here are not kept.
    fields.truncate(first);
    start
}

/// Bit `i` set when an odd number of bits `0..=i` of `x` are (a carry-less multiplication by
/// all ones, written as six shifts).
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The fields of a line whose quoted fields hold escaped quotes ([`PlainLine::escaped`]), as
/// RFC 4180 reads them: each field of `line` at `ranges` copied to `out` without the second
/// quote of each `""` pair (inside a range the structural pass took, a quote only ever comes as
/// such a pair), its place in `out` pushed to `spans` (both cleared first).
pub fn unescape_fields(
    line: &[u8],
    ranges: &[(usize, usize)],
    out: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
) {
    out.clear();
    spans.clear();
    for &(a, b) in ranges {
        let (f, from) = (&line[a..b], out.len());
        let mut k = 0;
        while let Some(j) = memchr::memchr(b'"', &f[k..]) {
            out.extend_from_slice(&f[k..=k + j]);
            k += j + 2;
        }
        out.extend_from_slice(&f[k.min(f.len())..]);
        spans.push((from, out.len()));
    }
}

/// Takes whole records from the start of `data` while each is plain and well framed (see
/// [`plain_lines`]) with `fields` fields (or an empty line) and a value somewhere. Stops before
/// the first record that is not, or that does not end inside `data`: the byte-exact scanner
/// reads that one (and reports what is wrong with it, if anything).
pub fn plain_records(data: &[u8], max: usize, fields: usize, level: Level) -> PlainRun {
    let mut run = PlainRun::default();
    // Counted, not collected: nothing grows here.
    run.bytes = plain_lines::<false>(data, b',', max, level, &mut Vec::new(), false, |l, _| {
        let empty = l.len == 0;
        if !(empty || (l.separators + 1 == fields && l.other)) {
            return false;
        }
        run.records += 1;
        run.empty_lines += u64::from(empty);
        true
    });
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_bytes(seed: u64, n: usize, alphabet: &[u8]) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    #[test]
    fn every_level_finds_the_same_masks_as_the_byte_loop() {
        let levels = Level::available();
        eprintln!("levels compared on this CPU: {levels:?}");
        #[cfg(target_arch = "x86_64")]
        assert!(levels.contains(&Level::Sse2));
        for seed in 0..2000u64 {
            let alphabet: &[u8] = if seed.is_multiple_of(2) {
                b"\n,\"\ra1 \xff\x80\t;"
            } else {
                b"abcdefgh,\n"
            };
            let bytes = random_bytes(seed, 64, alphabet);
            let block: &[u8; 64] = bytes.as_slice().try_into().unwrap();
            for sep in [b',', b'\t', b';', b'a', 0xff] {
                let want = portable(block, sep);
                for &l in &levels {
                    assert_eq!(l.masks(block, sep), want, "{l:?} on {bytes:?}, sep {sep}");
                }
            }
        }
    }

    /// CSV-ish text of `fields` fields a record, with now and then what the fast path must leave
    /// to the exact scanner: quotes (with line feeds and commas inside), CRLFs and lone CRs,
    /// empty lines, records of separators only, a field too many or too few, long records.
    fn csvish(seed: u64, records: usize, fields: usize) -> Vec<u8> {
        // Two inputs in three may be broken anywhere; the third is well framed throughout.
        let wild = !seed.is_multiple_of(3);
        let r = random_bytes(seed, records * fields * 4 + 16, b"0123456789abcdefghij");
        let mut k = 0;
        let mut next = || {
            k += 1;
            r[k % r.len()]
        };
        let mut out = Vec::new();
        for i in 0..records {
            let roll = next() % 20;
            let roll = if wild || roll > 3 { roll } else { 4 };
            match roll {
                0 => {}
                1 => out.extend_from_slice(&b",".repeat(fields - 1)),
                _ => {
                    let n = match roll {
                        2 => fields + 1,
                        3 => fields - 1,
                        _ => fields,
                    };
                    for f in 0..n {
                        if f > 0 {
                            out.push(b',');
                        }
                        match next() % 23 {
                            0 => out.extend_from_slice(b"\"a,\n\"\"b\""),
                            1 if wild => out.push(b'"'),
                            4 => out.extend_from_slice(b"\"x,y\""),
                            5 => out.extend_from_slice(b"\"\""),
                            6 => out.extend_from_slice(b"\"p\rq,\""),
                            7 if wild => out.extend_from_slice(b"\"u\"v"),
                            8 if wild => out.extend_from_slice(b"w\"z\""),
                            // Escaped quotes on one line: the fast path splits these.
                            9 => out.extend_from_slice(b"\"c\"\"d,\"\"\""),
                            10 => out.extend_from_slice(b"\"\"\"\""),
                            11 if wild => out.extend_from_slice(b"\"e\"\"f\"g"),
                            2 => out.push(b'\r'),
                            3 => out.extend_from_slice(&b"x".repeat(90)),
                            _ => {
                                for _ in 0..(next() % 9) {
                                    out.push(next());
                                }
                            }
                        }
                    }
                }
            }
            if i + 1 < records || next().is_multiple_of(2) {
                out.extend_from_slice(if next().is_multiple_of(4) {
                    b"\r\n"
                } else {
                    b"\n"
                });
            }
        }
        out
    }

    #[test]
    fn framing_with_the_structural_fast_path_or_in_parts_agrees_with_the_exact_scanner() {
        use std::io::BufReader;
        let (mut errors, mut oks, mut fast) = (0, 0, 0);
        for seed in 0..600u64 {
            let fields = 2 + (seed % 5) as usize;
            let data = csvish(seed, 1 + (seed % 200) as usize, fields);
            fast += plain_records(&data, 4096, fields, Level::best()).records;
            for (max, cap) in [(4096, 8192), (120, 64), (60, 1000), (200, 7)] {
                let exact = crate::record::check_framing_at(
                    BufReader::with_capacity(cap, &data[..]),
                    max,
                    fields,
                    None,
                );
                let want = format!("{exact:?}");
                match exact {
                    Ok(_) => oks += 1,
                    Err(_) => errors += 1,
                }
                // Cut into parts checked at once: the same verdict, the same line.
                for threads in 1..=4 {
                    let got = crate::record::check_framing_parallel(&data, max, fields, threads);
                    assert_eq!(
                        format!("{got:?}"),
                        want,
                        "{threads} threads, max {max}: {:?}",
                        String::from_utf8_lossy(&data)
                    );
                }
                for level in Level::available() {
                    let got = crate::record::check_framing_at(
                        BufReader::with_capacity(cap, &data[..]),
                        max,
                        fields,
                        Some(level),
                    );
                    assert_eq!(
                        format!("{got:?}"),
                        want,
                        "{level:?}, max {max}, buffer {cap}: {:?}",
                        String::from_utf8_lossy(&data)
                    );
                }
            }
        }
        // Both outcomes were exercised, not only one.
        assert!(oks > 100 && errors > 100, "ok {oks}, errors {errors}");
        // And the fast path took records, not only left them to the scanner.
        assert!(fast > 1000, "{fast} records by the fast path");
    }

    /// Everything a reader says about its records, record by record: what it read, its
    /// fields (split by the reader, or split here on commas when it has no quote), and where
    /// the reader stands after it.
    fn read_all(
        data: &[u8],
        cap: usize,
        max: usize,
        limit: u64,
        level: Option<Level>,
    ) -> (Vec<String>, usize, (usize, usize)) {
        use std::io::BufReader;
        let inner = BufReader::with_capacity(cap, data);
        let mut r = crate::RecordReader::with_range(inner, 0, limit, max).with_level(level);
        let (mut out, mut split_by_reader, mut quoted, mut escaped) = (Vec::new(), 0, 0, 0);
        loop {
            let step = match r.next_record() {
                Ok(None) => break,
                Err(e) => {
                    out.push(format!("error {e:?}"));
                    break;
                }
                Ok(Some(rec)) => {
                    let naive: Vec<(usize, usize)> = {
                        let mut v = Vec::new();
                        let mut from = 0;
                        for (i, &b) in rec.bytes.iter().enumerate() {
                            if b == b',' {
                                v.push((from, i));
                                from = i + 1;
                            }
                        }
                        v.push((from, rec.bytes.len()));
                        v
                    };
                    if let Some(split) = rec.split {
                        split_by_reader += 1;
                        quoted += usize::from(rec.quotes);
                        escaped += usize::from(split.escaped);
                        assert_eq!(split.ascii, rec.bytes.is_ascii());
                        // Escaped quotes as the reader of a field unescapes them.
                        let texts: Vec<Vec<u8>> = split
                            .ranges
                            .iter()
                            .map(|&(s, e)| {
                                let f = &rec.bytes[s..e];
                                if split.escaped {
                                    String::from_utf8_lossy(f).replace("\"\"", "\"").into()
                                } else {
                                    f.to_vec()
                                }
                            })
                            .collect();
                        assert_eq!(
                            split.escaped,
                            rec.quotes && texts.iter().any(|t| t.contains(&b'"')),
                            "{:?}",
                            String::from_utf8_lossy(rec.bytes)
                        );
                        let texts: Vec<&[u8]> = texts.iter().map(|t| &t[..]).collect();
                        if !rec.quotes {
                            assert_eq!(split.ranges, &naive[..], "{:?}", rec.bytes);
                        } else if let Ok(want) = crate::LineParser::new().fields(rec.bytes) {
                            // As the parser splits a record with quotes.
                            let want: Vec<&[u8]> = want.iter().map(|f| f.as_bytes()).collect();
                            assert_eq!(texts, want, "{:?}", String::from_utf8_lossy(rec.bytes));
                        }
                    }
                    format!(
                        "line {} {:?} unterminated {} bad quote {} quotes {}",
                        rec.line, rec.bytes, rec.unterminated, rec.bad_quote, rec.quotes
                    )
                }
            };
            out.push(format!(
                "{step} at {} after {} lines",
                r.position(),
                r.lines_read()
            ));
        }
        (out, split_by_reader, (quoted, escaped))
    }

    /// A record as a string: everything a reader says about it, its fields' texts included.
    fn describe(rec: &crate::Record<'_>) -> String {
        let split = rec.split.map(|s| {
            let texts: Vec<String> = s
                .ranges
                .iter()
                .map(|&(a, b)| String::from_utf8_lossy(&rec.bytes[a..b]).into_owned())
                .collect();
            (texts, s.ascii, s.escaped)
        });
        format!(
            "line {} {:?} unterminated {} bad quote {} quotes {} split {split:?}",
            rec.line, rec.bytes, rec.unterminated, rec.bad_quote, rec.quotes
        )
    }

    /// What a reader says, record by record: read one by one (the first list), and read one by
    /// one for `first` records then handed to a callback (the second), both stopped after
    /// `first + stop` records when `stop` is set; each list ends with the reader's `state`.
    /// Counts the split records the callback was handed into `handed`.
    fn one_by_one_and_handed<R: crate::Records>(
        make: impl Fn() -> R,
        first: usize,
        stop: Option<usize>,
        state: impl Fn(&R) -> String,
        handed: &mut usize,
    ) -> (Vec<String>, Vec<String>) {
        let (mut want, mut one, mut n) = (Vec::new(), make(), 0);
        while stop.is_none_or(|s| n < first + s) {
            match one.next_record() {
                Ok(Some(rec)) => want.push(describe(&rec)),
                Ok(None) => break,
                Err(e) => {
                    want.push(format!("error {e:?}"));
                    break;
                }
            }
            n += 1;
        }
        want.push(state(&one));
        let (mut got, mut each, mut ended) = (Vec::new(), make(), false);
        for _ in 0..first {
            match each.next_record() {
                Ok(Some(rec)) => got.push(describe(&rec)),
                Ok(None) => ended = true,
                Err(e) => {
                    got.push(format!("error {e:?}"));
                    ended = true;
                }
            }
            if ended {
                break;
            }
        }
        if !ended {
            let mut k = first;
            if let Err(e) = each.for_each_record(|rec| {
                got.push(describe(rec));
                *handed += usize::from(rec.split.is_some());
                k += 1;
                stop.is_none_or(|s| k < first + s)
            }) {
                got.push(format!("error {e:?}"));
            }
        }
        got.push(state(&each));
        (want, got)
    }

    #[test]
    fn records_handed_to_a_callback_are_the_records_read_one_by_one() {
        use std::io::BufReader;
        // Some records read one by one first (a header, say), then a callback for the rest,
        // stopped early now and then.
        let plan = |seed: u64| ((seed % 4) as usize, seed.is_multiple_of(5).then_some(7));
        let mut handed = 0;
        for seed in 0..300u64 {
            let fields = 2 + (seed % 5) as usize;
            let data = csvish(seed, 1 + (seed % 200) as usize, fields);
            let limit = if seed % 3 == 0 {
                data.len() as u64 / 2
            } else {
                u64::MAX
            };
            let (first, stop) = plan(seed);
            for (max, cap) in [(4096, 8192), (120, 64), (60, 1000), (200, 7), (4096, 100)] {
                for level in Level::available() {
                    let make = || {
                        let inner = BufReader::with_capacity(cap, &data[..]);
                        crate::RecordReader::with_range(inner, 0, limit, max)
                            .with_level(Some(level))
                    };
                    let state = |r: &crate::RecordReader<BufReader<&[u8]>>| {
                        format!("at {} after {} lines", r.position(), r.lines_read())
                    };
                    let (want, got) = one_by_one_and_handed(make, first, stop, state, &mut handed);
                    assert_eq!(
                        got,
                        want,
                        "{level:?}, max {max}, buffer {cap}, limit {limit}, first {first}, \
                         stop {stop:?}: {:?}",
                        String::from_utf8_lossy(&data)
                    );
                }
            }
        }
        assert!(
            handed > 20_000,
            "{handed} split records handed to the callback"
        );
        // The same over bytes in memory.
        let mut handed = 0;
        for seed in 0..300u64 {
            let fields = 2 + (seed % 5) as usize;
            let data = csvish(seed, 1 + (seed % 300) as usize, fields);
            let (first, stop) = plan(seed);
            for max in [4096, 120, 60] {
                for level in Level::available() {
                    let make = || crate::SliceRecords::new(&data, max).with_level(Some(level));
                    let (want, got) =
                        one_by_one_and_handed(make, first, stop, |_| String::new(), &mut handed);
                    assert_eq!(
                        got,
                        want,
                        "{level:?}, max {max}: {:?}",
                        String::from_utf8_lossy(&data)
                    );
                }
            }
        }
        assert!(
            handed > 20_000,
            "{handed} split records in memory handed to the callback"
        );
    }

    #[test]
    fn records_split_64_bytes_at_a_time_are_the_exact_scanners_records() {
        let (mut split, mut quoted, mut escaped, mut split_slices) = (0, 0, 0, 0);
        for seed in 0..400u64 {
            let fields = 2 + (seed % 5) as usize;
            let mut data = csvish(seed, 1 + (seed % 200) as usize, fields);
            if seed % 7 == 0 {
                // Not ASCII now and then (valid and not).
                let at = data.len() / 2;
                data.splice(at..at, *b"\xc3\xa9\xff");
            }
            let limit = if seed % 3 == 0 {
                data.len() as u64 / 2
            } else {
                u64::MAX
            };
            for (max, cap) in [(4096, 8192), (120, 64), (60, 1000), (200, 7), (4096, 100)] {
                let (want, none, _) = read_all(&data, cap, max, limit, None);
                assert_eq!(none, 0, "the exact scanner splits nothing");
                for level in Level::available() {
                    let (got, n, (q, e)) = read_all(&data, cap, max, limit, Some(level));
                    split += n;
                    quoted += q;
                    escaped += e;
                    assert_eq!(
                        got,
                        want,
                        "{level:?}, max {max}, buffer {cap}, limit {limit}: {:?}",
                        String::from_utf8_lossy(&data)
                    );
                }
            }
        }
        // The records of bytes in memory are the same, split the same way.
        for seed in 0..300u64 {
            let fields = 2 + (seed % 5) as usize;
            let data = csvish(seed, 1 + (seed % 300) as usize, fields);
            for max in [4096, 120, 60] {
                let (want, _, _) = read_all(&data, 1 << 20, max, u64::MAX, None);
                let want: Vec<&str> = want
                    .iter()
                    .map(|s| s.split(" at ").next().unwrap())
                    .collect();
                for level in [None]
                    .into_iter()
                    .chain(Level::available().into_iter().map(Some))
                {
                    let mut r = crate::SliceRecords::new(&data, max).with_level(level);
                    let mut got = Vec::new();
                    loop {
                        use crate::Records;
                        match r.next_record() {
                            Ok(None) => break,
                            Err(e) => {
                                got.push(format!("error {e:?}"));
                                break;
                            }
                            Ok(Some(rec)) => {
                                if let Some(split) = rec.split {
                                    assert_eq!(split.ascii, rec.bytes.is_ascii());
                                    split_slices += 1;
                                }
                                got.push(format!(
                                    "line {} {:?} unterminated {} bad quote {} quotes {}",
                                    rec.line,
                                    rec.bytes,
                                    rec.unterminated,
                                    rec.bad_quote,
                                    rec.quotes
                                ))
                            }
                        }
                    }
                    assert_eq!(
                        got,
                        want,
                        "{level:?}, max {max}: {:?}",
                        String::from_utf8_lossy(&data)
                    );
                }
            }
        }
        assert!(
            split_slices > 10_000,
            "{split_slices} records in memory split"
        );
        // The reader split records itself, quoted ones too, not only left them to the scanner.
        assert!(split > 20_000, "{split} records split by the reader");
        assert!(
            quoted > 2_000,
            "{quoted} records with quotes split by the reader"
        );
        assert!(
            escaped > 500,
            "{escaped} records with escaped quotes split by the reader"
        );
    }

    #[test]
    fn plain_records_stop_at_the_first_record_the_scanner_must_read() {
        let level = Level::best();
        // 16-byte units of four records, two of them empty lines: 128 bytes, two whole blocks.
        let data = b"aa,bb\n\r\ncc,dd\r\n\n".repeat(8);
        let all = plain_records(&data, 100, 2, level);
        assert_eq!((all.records, all.empty_lines, all.bytes), (32, 16, 128));
        let mut quoted = data.clone();
        quoted.splice(16..16, *b"\"q\",x\n");
        let run = plain_records(&quoted, 100, 2, level);
        assert_eq!(
            (run.records, run.bytes),
            (31, 126),
            "takes a record with a simply quoted field (up to the last whole block)"
        );
        for odd in [b"q\"\",x\n", b"\"q\"x,\n", b"\"\n\",x\n"] {
            let mut data = data.clone();
            data.splice(16..16, *odd);
            let run = plain_records(&data, 100, 2, level);
            assert_eq!(
                (run.records, run.bytes),
                (4, 16),
                "stops before the record with a quote it leaves to the scanner: {:?}",
                String::from_utf8_lossy(odd)
            );
        }
        let long = [b"x".repeat(100), b"\n".to_vec()].concat().repeat(2);
        assert_eq!(plain_records(&long, 99, 1, level).records, 0);
        assert_eq!(plain_records(&long, 100, 1, level).records, 1);
    }
}
