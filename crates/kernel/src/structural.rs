//! The structural bytes of CSV found 64 at a time: for a 64-byte block, one bit per byte for line
//! feeds, separators (`,`), quotes (`"`) and carriage returns — the index simdjson and simdcsv
//! build before they look at a single field. Three levels compute the same masks: AVX2 (two
//! 32-byte compares per class, chosen at run time when the CPU has it), SSE2 (four 16-byte ones,
//! every x86-64 CPU has it) and a portable byte loop (any target); the tests compare them on
//! random blocks.
//!
//! What it must not do: decide anything about records. Callers ([`crate::check_framing`]'s fast
//! path) read the masks and fall back to the byte-exact scanner wherever a block holds a quote.

/// The masks of one 64-byte block: bit `i` is set when byte `i` is that character.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Masks {
    pub newline: u64,
    pub comma: u64,
    pub quote: u64,
    pub cr: u64,
}

impl Masks {
    /// Bytes that are none of the four: a record holding one has a value somewhere.
    #[inline]
    pub fn other(&self) -> u64 {
        !(self.newline | self.comma | self.quote | self.cr)
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
    pub fn masks(self, block: &[u8; 64]) -> Masks {
        match self {
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => {
                assert!(std::arch::is_x86_feature_detected!("avx2"));
                // SAFETY: the CPU has AVX2 (checked just above; the check is a cached load).
                unsafe { x86::avx2(block) }
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: SSE2 is part of the x86-64 baseline.
            Level::Sse2 => unsafe { x86::sse2(block) },
            #[cfg(not(target_arch = "x86_64"))]
            Level::Avx2 | Level::Sse2 => panic!("{self:?} needs x86-64"),
            Level::Portable => portable(block),
        }
    }
}

/// The masks a byte at a time.
pub fn portable(block: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'\n' => m.newline |= bit,
            b',' => m.comma |= bit,
            b'"' => m.quote |= bit,
            b'\r' => m.cr |= bit,
            _ => {}
        }
    }
    m
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Masks;

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2(block: &[u8; 64]) -> Masks {
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
        Masks {
            newline: class(b'\n'),
            comma: class(b','),
            quote: class(b'"'),
            cr: class(b'\r'),
        }
    }

    /// # Safety
    /// The CPU must have SSE2 (every x86-64 CPU does).
    #[target_feature(enable = "sse2")]
    pub unsafe fn sse2(block: &[u8; 64]) -> Masks {
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
        Masks {
            newline: class(b'\n'),
            comma: class(b','),
            quote: class(b'"'),
            cr: class(b'\r'),
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

/// Takes whole records from the start of `data` while each is plain and well framed: no quote,
/// no carriage return but the one before its line feed, `fields` fields (or an empty line), a
/// value somewhere, at most `max` bytes without its terminator. Stops before the first record
/// that is not, or that does not end inside `data`: the byte-exact scanner reads that one (and
/// reports what is wrong with it, if anything).
pub fn plain_records(data: &[u8], max: usize, fields: usize, level: Level) -> PlainRun {
    let mut run = PlainRun::default();
    let (mut commas, mut other, mut odd) = (0usize, false, false);
    let mut start = 0usize;
    let mut off = 0usize;
    while off + 64 <= data.len() {
        let block: &[u8; 64] = data[off..off + 64].try_into().expect("64 bytes");
        let m = level.masks(block);
        let other_mask = m.other();
        let mut nl = m.newline;
        let mut from = 0u32;
        loop {
            let to = if nl == 0 { 64 } else { nl.trailing_zeros() };
            let range = bits(from, to);
            commas += (m.comma & range).count_ones() as usize;
            other |= other_mask & range != 0;
            // A quote, or a carriage return anywhere but right before the line feed: the
            // byte-exact scanner decides.
            let cr = m.cr & range;
            odd |= m.quote & range != 0 || (cr != 0 && (nl == 0 || cr != 1u64 << (to - 1)));
            if nl == 0 {
                break;
            }
            let end = off + to as usize; // the line feed
            let crlf = end > start && data[end - 1] == b'\r';
            let len = end - start - usize::from(crlf);
            let empty = len == 0;
            let ok = !odd && len <= max && (empty || (commas + 1 == fields && other));
            if !ok {
                return run;
            }
            run.records += 1;
            run.empty_lines += u64::from(empty);
            run.bytes = end + 1;
            start = end + 1;
            (commas, other, odd) = (0, false, false);
            from = to + 1;
            nl &= nl - 1;
        }
        // A record already past the maximum: the scanner reports it.
        if off + 64 - start > max + 2 {
            return run;
        }
        off += 64;
    }
    run
}

/// Bits `from..to` of a 64-bit mask (`from <= to <= 64`).
#[inline]
fn bits(from: u32, to: u32) -> u64 {
    let upto = if to >= 64 { u64::MAX } else { (1u64 << to) - 1 };
    let below = if from >= 64 {
        u64::MAX
    } else {
        (1u64 << from) - 1
    };
    upto & !below
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
                b"\n,\"\ra1 \xff\x80"
            } else {
                b"abcdefgh,\n"
            };
            let bytes = random_bytes(seed, 64, alphabet);
            let block: &[u8; 64] = bytes.as_slice().try_into().unwrap();
            let want = portable(block);
            for &l in &levels {
                assert_eq!(l.masks(block), want, "{l:?} on {bytes:?}");
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
    fn framing_with_the_structural_fast_path_agrees_with_the_exact_scanner() {
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
        assert!(fast > 2000, "{fast} records by the fast path");
    }

    #[test]
    fn plain_records_stop_at_the_first_record_the_scanner_must_read() {
        let level = Level::best();
        // 16-byte units of four records, two of them empty lines: 128 bytes, two whole blocks.
        let mut data = b"aa,bb\n\r\ncc,dd\r\n\n".repeat(8);
        let all = plain_records(&data, 100, 2, level);
        assert_eq!((all.records, all.empty_lines, all.bytes), (32, 16, 128));
        data.splice(16..16, *b"\"q\",x\n");
        let run = plain_records(&data, 100, 2, level);
        assert_eq!(
            (run.records, run.bytes),
            (4, 16),
            "stops before the record with a quote"
        );
        let long = [b"x".repeat(100), b"\n".to_vec()].concat().repeat(2);
        assert_eq!(plain_records(&long, 99, 1, level).records, 0);
        assert_eq!(plain_records(&long, 100, 1, level).records, 1);
    }

    #[test]
    fn bits_cover_exactly_the_range() {
        assert_eq!(bits(0, 64), u64::MAX);
        assert_eq!(bits(0, 0), 0);
        assert_eq!(bits(3, 5), 0b11000);
        assert_eq!(bits(63, 64), 1 << 63);
        assert_eq!(bits(64, 64), 0);
    }
}
