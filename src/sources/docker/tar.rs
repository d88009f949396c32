//! A small, bounded, streaming tar reader for the archive API
//! (`GET /containers/{id}/archive`): fed chunk by chunk, it yields regular files
//! whose size is within the cap, reports larger ones as too large (their bytes are
//! skipped, never buffered) and records symbolic links. Understands ustar, GNU long
//! names (`L`) and PAX `path`/`linkpath`/`size` records; everything else (devices,
//! directories, hard links) is skipped. Never panics on hostile input.

/// Longest PAX or GNU long-name payload accepted (bytes).
const MAX_EXT_HEADER: u64 = 64 * 1024;
const BLOCK: usize = 512;

/// One archive member the reader reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file within the size cap, with its content.
    File { name: String, data: Vec<u8> },
    /// A regular file larger than the cap (content skipped).
    TooLarge { name: String, size: u64 },
    /// A symbolic link (not followed here).
    Symlink { name: String, target: String },
}

/// Why the archive could not be read any further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TarError {
    /// Header checksum mismatch or unparsable header fields.
    Corrupt(String),
    /// The archive exceeded the total byte budget.
    Budget(u64),
}

#[derive(Debug)]
enum State {
    /// Reading a 512-byte header.
    Header,
    /// Reading `remaining` data bytes of the current member, then `pad` padding bytes.
    Data {
        kind: Member,
        remaining: u64,
        pad: u64,
    },
    /// Two zero blocks seen (or one; trailing bytes are ignored).
    End,
}

#[derive(Debug)]
enum Member {
    Keep { name: String, buf: Vec<u8> },
    Skip,
    LongName { buf: Vec<u8> },
    Pax { buf: Vec<u8> },
}

/// Streaming reader; feed it bytes, collect entries.
#[derive(Debug)]
pub struct TarReader {
    max_file: u64,
    max_total: u64,
    total: u64,
    state: State,
    header: Vec<u8>,
    next_name: Option<String>,
    next_link: Option<String>,
    next_size: Option<u64>,
}

impl TarReader {
    /// `max_file`: largest member kept; `max_total`: largest archive read at all.
    pub fn new(max_file: u64, max_total: u64) -> Self {
        TarReader {
            max_file,
            max_total,
            total: 0,
            state: State::Header,
            header: Vec::with_capacity(BLOCK),
            next_name: None,
            next_link: None,
            next_size: None,
        }
    }

    /// True once the end-of-archive marker was read.
    pub fn finished(&self) -> bool {
        matches!(self.state, State::End)
    }

    /// Feed the next chunk; complete entries are appended to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Entry>) -> Result<(), TarError> {
        self.total = self.total.saturating_add(chunk.len() as u64);
        if self.total > self.max_total {
            return Err(TarError::Budget(self.max_total));
        }
        while !chunk.is_empty() {
            match &mut self.state {
                State::End => return Ok(()),
                State::Header => {
                    let need = BLOCK - self.header.len();
                    let take = need.min(chunk.len());
                    self.header.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.header.len() == BLOCK {
                        let block = std::mem::take(&mut self.header);
                        self.on_header(&block, out)?;
                        self.header = block;
                        self.header.clear();
                    }
                }
                State::Data {
                    kind,
                    remaining,
                    pad,
                } => {
                    if *remaining > 0 {
                        let take = (*remaining).min(chunk.len() as u64) as usize;
                        match kind {
                            Member::Keep { buf, .. }
                            | Member::LongName { buf }
                            | Member::Pax { buf } => buf.extend_from_slice(&chunk[..take]),
                            Member::Skip => {}
                        }
                        *remaining -= take as u64;
                        chunk = &chunk[take..];
                    } else if *pad > 0 {
                        let take = (*pad).min(chunk.len() as u64) as usize;
                        *pad -= take as u64;
                        chunk = &chunk[take..];
                    }
                    if *remaining == 0 && *pad == 0 {
                        let State::Data { kind, .. } =
                            std::mem::replace(&mut self.state, State::Header)
                        else {
                            continue;
                        };
                        self.finish_member(kind, out);
                    }
                }
            }
        }
        Ok(())
    }

    fn finish_member(&mut self, kind: Member, out: &mut Vec<Entry>) {
        match kind {
            Member::Keep { name, buf } => out.push(Entry::File { name, data: buf }),
            Member::Skip => {}
            Member::LongName { buf } => {
                let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
                self.next_name = Some(String::from_utf8_lossy(&buf[..end]).into_owned());
            }
            Member::Pax { buf } => self.apply_pax(&buf),
        }
    }

    /// PAX records: `"<len> <key>=<value>\n"`.
    fn apply_pax(&mut self, mut rec: &[u8]) {
        while !rec.is_empty() {
            let Some(sp) = rec.iter().position(|&b| b == b' ') else {
                return;
            };
            let Some(len) = std::str::from_utf8(&rec[..sp])
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
            else {
                return;
            };
            if len <= sp + 1 || len > rec.len() {
                return;
            }
            let body = &rec[sp + 1..len];
            let body = body.strip_suffix(b"\n").unwrap_or(body);
            if let Some(eq) = body.iter().position(|&b| b == b'=') {
                let (k, v) = (&body[..eq], &body[eq + 1..]);
                let v = String::from_utf8_lossy(v).into_owned();
                match k {
                    b"path" => self.next_name = Some(v),
                    b"linkpath" => self.next_link = Some(v),
                    b"size" => self.next_size = v.parse().ok(),
                    _ => {}
                }
            }
            rec = &rec[len..];
        }
    }

    fn on_header(&mut self, h: &[u8], out: &mut Vec<Entry>) -> Result<(), TarError> {
        if h.iter().all(|&b| b == 0) {
            self.state = State::End;
            return Ok(());
        }
        let stored = parse_octal(&h[148..156])
            .ok_or_else(|| TarError::Corrupt("unreadable header checksum".into()))?;
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        if sum != stored {
            return Err(TarError::Corrupt("header checksum mismatch".into()));
        }
        let header_size = parse_numeric(&h[124..136])
            .ok_or_else(|| TarError::Corrupt("unreadable member size".into()))?;
        let typeflag = h[156];
        let size = match typeflag {
            b'x' | b'g' | b'L' | b'K' => header_size,
            _ => self.next_size.take().unwrap_or(header_size),
        };
        let pad = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        let kind = match typeflag {
            b'L' | b'x' => {
                if size > MAX_EXT_HEADER {
                    return Err(TarError::Corrupt(format!(
                        "extended header of {size} bytes is larger than {MAX_EXT_HEADER}"
                    )));
                }
                if typeflag == b'L' {
                    Member::LongName {
                        buf: Vec::with_capacity(size as usize),
                    }
                } else {
                    Member::Pax {
                        buf: Vec::with_capacity(size as usize),
                    }
                }
            }
            _ => {
                let name = self.next_name.take().unwrap_or_else(|| header_name(h));
                let link = self.next_link.take().unwrap_or_else(|| cstr(&h[157..257]));
                match typeflag {
                    b'0' | 0 | b'7' => {
                        if size > self.max_file {
                            out.push(Entry::TooLarge { name, size });
                            Member::Skip
                        } else {
                            Member::Keep {
                                name,
                                buf: Vec::with_capacity(size as usize),
                            }
                        }
                    }
                    b'2' => {
                        out.push(Entry::Symlink { name, target: link });
                        Member::Skip
                    }
                    _ => Member::Skip,
                }
            }
        };
        if size == 0 {
            self.finish_member(kind, out);
            self.state = State::Header;
        } else {
            self.state = State::Data {
                kind,
                remaining: size,
                pad,
            };
        }
        Ok(())
    }
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn header_name(h: &[u8]) -> String {
    let name = cstr(&h[0..100]);
    if &h[257..262] == b"ustar" {
        let prefix = cstr(&h[345..500]);
        if !prefix.is_empty() {
            return format!("{prefix}/{name}");
        }
    }
    name
}

fn parse_octal(b: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(b).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// Octal, or GNU base-256 (high bit set) for large sizes.
fn parse_numeric(b: &[u8]) -> Option<u64> {
    if b.first().is_some_and(|&c| c & 0x80 != 0) {
        let mut v: u64 = u64::from(b[0] & 0x7f);
        for &c in &b[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(c))?;
        }
        return Some(v);
    }
    parse_octal(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: u64, typeflag: u8, link: &str) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        let sz = format!("{size:011o}");
        h[124..135].copy_from_slice(sz.as_bytes());
        h[156] = typeflag;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        h
    }

    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = header(name, data.len() as u64, b'0', "");
        v.extend_from_slice(data);
        v.resize(v.len().div_ceil(BLOCK) * BLOCK, 0);
        v
    }

    fn archive(parts: &[Vec<u8>]) -> Vec<u8> {
        let mut v: Vec<u8> = parts.concat();
        v.extend_from_slice(&[0u8; 1024]);
        v
    }

    fn read_all(data: &[u8], chunk: usize, max_file: u64) -> Result<Vec<Entry>, TarError> {
        let mut r = TarReader::new(max_file, 1 << 30);
        let mut out = Vec::new();
        for c in data.chunks(chunk.max(1)) {
            r.feed(c, &mut out)?;
        }
        assert!(r.finished());
        Ok(out)
    }

    #[test]
    fn files_links_and_large_members_in_any_chunking() {
        let big = vec![7u8; 3000];
        let tar = archive(&[
            header("certs/", 0, b'5', ""),
            member("certs/a.pem", b"hello"),
            header("certs/link.pem", 0, b'2', "/etc/ssl/x.pem"),
            member("certs/big.bin", &big),
            member("certs/b.pem", b"world!"),
        ]);
        for chunk in [1, 7, 511, 512, 513, 4096] {
            let got = read_all(&tar, chunk, 1000).unwrap();
            assert_eq!(
                got,
                vec![
                    Entry::File {
                        name: "certs/a.pem".into(),
                        data: b"hello".to_vec()
                    },
                    Entry::Symlink {
                        name: "certs/link.pem".into(),
                        target: "/etc/ssl/x.pem".into()
                    },
                    Entry::TooLarge {
                        name: "certs/big.bin".into(),
                        size: 3000
                    },
                    Entry::File {
                        name: "certs/b.pem".into(),
                        data: b"world!".to_vec()
                    },
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn pax_and_gnu_long_names() {
        let long = format!("{}/cert.pem", "d".repeat(150));
        let rec = format!("path={long}\n");
        let len = rec.len() + 4; // "NNN " prefix, 3 digits
        let pax = format!("{len} {rec}");
        assert_eq!(pax.len(), len);
        let mut x = header("PaxHeaders/x", pax.len() as u64, b'x', "");
        x.extend_from_slice(pax.as_bytes());
        x.resize(x.len().div_ceil(BLOCK) * BLOCK, 0);
        let mut l = header("././@LongLink", long.len() as u64 + 1, b'L', "");
        l.extend_from_slice(long.as_bytes());
        l.push(0);
        l.resize(l.len().div_ceil(BLOCK) * BLOCK, 0);
        let tar = archive(&[x, member("short", b"a"), l, member("short2", b"b")]);
        let got = read_all(&tar, 100, 10).unwrap();
        assert_eq!(
            got,
            vec![
                Entry::File {
                    name: long.clone(),
                    data: b"a".to_vec()
                },
                Entry::File {
                    name: long,
                    data: b"b".to_vec()
                },
            ]
        );
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        let mut bad = member("a", b"x");
        bad[0] ^= 1; // checksum mismatch
        assert!(matches!(
            read_all(&archive(&[bad]), 512, 10),
            Err(TarError::Corrupt(_))
        ));
        let mut r = TarReader::new(10, 1000);
        assert_eq!(
            r.feed(&[0u8; 1001], &mut Vec::new()),
            Err(TarError::Budget(1000))
        );
        // Random bytes never panic.
        let mut seed = 0x1234_5678_u64;
        for _ in 0..200 {
            let mut buf = vec![0u8; 2048];
            for b in &mut buf {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            let mut r = TarReader::new(100, 1 << 20);
            let _ = r.feed(&buf, &mut Vec::new());
        }
        // Huge extended header is refused.
        let h = header("x", MAX_EXT_HEADER + 1, b'x', "");
        let mut r = TarReader::new(10, 1 << 30);
        assert!(r.feed(&h, &mut Vec::new()).is_err());
    }
}
